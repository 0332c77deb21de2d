{{/* Base name of every object: the release name when it already says linkpack, else <release>-linkpack. */}}
{{- define "linkpack.fullname" -}}
{{- if contains "linkpack" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-linkpack" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "linkpack.labels" -}}
app.kubernetes.io/part-of: linkpack
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "linkpack.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Scheduling constraints of the control-plane components. */}}
{{- define "linkpack.placement" -}}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "linkpack.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{- define "linkpack.extenderScheme" -}}
{{- if .Values.extender.tls.enabled }}https{{ else }}http{{ end -}}
{{- end -}}

{{/* The extender container (sidecar in second-profile mode, alone in default-scheduler mode). */}}
{{- define "linkpack.extenderContainer" -}}
- name: extender
  image: {{ include "linkpack.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - extender
    - --host=0.0.0.0
    - --port={{ .Values.extender.port }}
    - --heartbeat-timeout={{ .Values.extender.heartbeatTimeout }}
    - --profile={{ .Values.extender.profile }}
    - --log-level={{ .Values.extender.logLevel }}
    {{- if eq .Values.scheduler.mode "default-scheduler" }}
    # The default kube-scheduler calls over the network, not over localhost.
    - --remote-verbs
    {{- end }}
    {{- if .Values.extender.tls.enabled }}
    - --tls-cert=/etc/linkpack/tls/tls.crt
    - --tls-key=/etc/linkpack/tls/tls.key
    {{- end }}
  ports:
    - name: http
      containerPort: {{ .Values.extender.port }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: http
      scheme: {{ include "linkpack.extenderScheme" . | upper }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: http
      scheme: {{ include "linkpack.extenderScheme" . | upper }}
  resources: {{- toYaml .Values.extender.resources | nindent 4 }}
  {{- include "linkpack.containerSecurity" . | nindent 2 }}
  {{- if .Values.extender.tls.enabled }}
  volumeMounts:
    - name: tls
      mountPath: /etc/linkpack/tls
      readOnly: true
  {{- end }}
{{- end -}}

{{/*
The recommended linkpack-scheduler profile (the same as deploy/scheduler/scheduler-config.yaml,
where its reasons are written; a test keeps them equal): score every node, no BalancedAllocation,
NodeResourcesFit MostAllocated with nvidia.com/gpu weighted.
*/}}
{{- define "linkpack.schedulerProfile" -}}
percentageOfNodesToScore: 100
plugins:
  score:
    disabled:
      - name: NodeResourcesBalancedAllocation
pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
          - name: cpu
            weight: 1
          - name: memory
            weight: 1
          - name: nvidia.com/gpu
            weight: 3
{{- end -}}

{{/* The extenders: entry of a KubeSchedulerConfiguration pointing at this extender. */}}
{{- define "linkpack.extenderConfig" -}}
- urlPrefix: {{ printf "%s://%s" (include "linkpack.extenderScheme" .) .url | quote }}
  filterVerb: filter
  prioritizeVerb: prioritize
  preemptVerb: preempt
  bindVerb: bind
  weight: {{ .Values.extender.weight }}
  nodeCacheCapable: true
  httpTimeout: {{ .Values.extender.httpTimeout }}
  ignorable: false
  {{- if .Values.extender.tls.enabled }}
  enableHTTPS: true
  tlsConfig:
    caFile: /etc/linkpack/tls/ca.crt
  {{- end }}
  {{- if .gpuPodsOnly }}
  {{- /* The default scheduler serves every pod of the cluster: ask only about GPU pods. */}}
  managedResources:
    - name: nvidia.com/gpu
      ignoredByScheduler: false
  {{- end }}
{{- end -}}
