/**
 * Node options the agent's container runs with (daemonset/, the chart; bench:agent measures them
 * beside plain `node`). The agent does little work every 10 s, so V8's optimizing compilers and a
 * large young generation buy nothing and cost RSS: --lite-mode (interpreter only) and a 1 MiB
 * semi-space take its footprint under the 60 MB goal (measured: ~66 → ~55 MB peak).
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--lite-mode'] as const;
