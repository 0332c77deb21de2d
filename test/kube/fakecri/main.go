// Command fakecri serves the Kubernetes in-memory fake CRI runtime (k8s.io/cri-client/pkg/fake)
// on a unix socket so that a real kubelet can run pods without containers. It adds what the
// playground needs: every CreateContainer request recorded as a JSON line (the env, devices, CDI
// devices, mounts and annotations the kubelet took from the device plugin), a container whose env
// sets PLAYGROUND_EXIT_CODE=<n> exits with n about a second after it starts (or, with
// PLAYGROUND_EXIT_ON_FILE=<path>, once that file exists), and one log line per container in the
// kubelet's log file so `kubectl logs` finds something. Starts, exits and stops are recorded too
// (`event`), so a test can tell which containers held devices at the same time.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	kubeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/fake"
)

type record struct {
	Event         string            `json:"event"` // create | start | exit | stop
	Time          string            `json:"time"`
	ContainerID   string            `json:"containerId"`
	PodNamespace  string            `json:"podNamespace"`
	PodName       string            `json:"podName"`
	PodUID        string            `json:"podUid"`
	ContainerName string            `json:"containerName"`
	Attempt       uint32            `json:"attempt"`
	Envs          map[string]string `json:"envs"`
	Devices       []string          `json:"devices"`
	CDIDevices    []string          `json:"cdiDevices"`
	Mounts        []string          `json:"mounts"`
	Annotations   map[string]string `json:"annotations"`
}

type runtime struct {
	*fake.RemoteRuntime
	mu      sync.Mutex
	records *os.File
	exits   map[string]exitRule // container ID → when and how it ends by itself
	logs    map[string]string // container ID → the kubelet's log file for it
	lines   map[string]string // container ID → what the container "prints"
}

func (r *runtime) CreateContainer(ctx context.Context, req *kubeapi.CreateContainerRequest) (*kubeapi.CreateContainerResponse, error) {
	resp, err := r.RemoteRuntime.CreateContainer(ctx, req)
	if err != nil {
		return nil, err
	}
	cfg, sb := req.GetConfig(), req.GetSandboxConfig()
	rec := record{
		Event:         "create",
		Time:          time.Now().UTC().Format(time.RFC3339Nano),
		ContainerID:   resp.ContainerId,
		PodNamespace:  sb.GetMetadata().GetNamespace(),
		PodName:       sb.GetMetadata().GetName(),
		PodUID:        sb.GetMetadata().GetUid(),
		ContainerName: cfg.GetMetadata().GetName(),
		Attempt:       cfg.GetMetadata().GetAttempt(),
		Envs:          map[string]string{},
		Devices:       []string{},
		CDIDevices:    []string{},
		Mounts:        []string{},
		Annotations:   cfg.GetAnnotations(),
	}
	for _, e := range cfg.GetEnvs() {
		rec.Envs[e.GetKey()] = string(e.GetValue())
	}
	for _, d := range cfg.GetDevices() {
		rec.Devices = append(rec.Devices, d.GetHostPath()+":"+d.GetContainerPath())
	}
	for _, d := range cfg.GetCDIDevices() {
		rec.CDIDevices = append(rec.CDIDevices, d.GetName())
	}
	for _, m := range cfg.GetMounts() {
		rec.Mounts = append(rec.Mounts, m.GetHostPath()+":"+m.GetContainerPath())
	}
	line, _ := json.Marshal(rec)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.records.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("fakecri: recording CreateContainer: %w", err)
	}
	code, hasCode := rec.Envs["PLAYGROUND_EXIT_CODE"]
	onFile := rec.Envs["PLAYGROUND_EXIT_ON_FILE"]
	if hasCode || onFile != "" {
		n, err := strconv.Atoi(code)
		if err != nil && hasCode {
			n = 1 // an unreadable code still ends the container, as a failing entry point would
		}
		r.exits[resp.ContainerId] = exitRule{code: int32(n), onFile: onFile}
	}
	if sb.GetLogDirectory() != "" && cfg.GetLogPath() != "" {
		logPath := filepath.Join(sb.GetLogDirectory(), cfg.GetLogPath())
		r.logs[resp.ContainerId] = logPath
		// A real runtime reports the log path in ContainerStatus. The fake leaves it empty, and the
		// kubelet's container GC then removes "" + … relative to its working directory.
		svc := r.RuntimeService
		svc.Lock()
		if c, ok := svc.Containers[resp.ContainerId]; ok {
			c.LogPath = logPath
		}
		svc.Unlock()
	}
	r.lines[resp.ContainerId] = fmt.Sprintf("fakecri: %s/%s started; NVIDIA_VISIBLE_DEVICES=%s", rec.PodNamespace, rec.PodName, rec.Envs["NVIDIA_VISIBLE_DEVICES"])
	return resp, nil
}

func (r *runtime) StartContainer(ctx context.Context, req *kubeapi.StartContainerRequest) (*kubeapi.StartContainerResponse, error) {
	resp, err := r.RemoteRuntime.StartContainer(ctx, req)
	if err != nil {
		return nil, err
	}
	id := req.GetContainerId()
	r.event("start", id)
	r.mu.Lock()
	rule, exits := r.exits[id]
	logFile, line := r.logs[id], r.lines[id]
	delete(r.exits, id)
	delete(r.logs, id)
	delete(r.lines, id)
	r.mu.Unlock()
	if logFile != "" {
		writeLog(logFile, line)
	}
	if exits && rule.onFile == "" {
		time.AfterFunc(time.Second, func() { r.exit(id, rule.code) })
	} else if exits {
		go func() {
			for {
				if _, err := os.Stat(rule.onFile); err == nil {
					r.exit(id, rule.code)
					return
				}
				if !r.running(id) {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	return resp, nil
}

type exitRule struct {
	code   int32
	onFile string
}

func (r *runtime) StopContainer(ctx context.Context, req *kubeapi.StopContainerRequest) (*kubeapi.StopContainerResponse, error) {
	wasRunning := r.running(req.GetContainerId())
	resp, err := r.RemoteRuntime.StopContainer(ctx, req)
	if err == nil && wasRunning {
		r.event("stop", req.GetContainerId())
	}
	return resp, err
}

func (r *runtime) running(id string) bool {
	svc := r.RuntimeService
	svc.Lock()
	defer svc.Unlock()
	c, ok := svc.Containers[id]
	return ok && c.State == kubeapi.ContainerState_CONTAINER_RUNNING
}

// event records a container's start, exit or stop (its devices are in its create record).
func (r *runtime) event(kind, id string) {
	line, _ := json.Marshal(map[string]string{"event": kind, "time": time.Now().UTC().Format(time.RFC3339Nano), "containerId": id})
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.records.Write(append(line, '\n'))
}

// exit marks a running container exited with code, as a process ending on its own would.
func (r *runtime) exit(id string, code int32) {
	svc := r.RuntimeService
	svc.Lock()
	defer svc.Unlock()
	c, ok := svc.Containers[id]
	if !ok || c.State != kubeapi.ContainerState_CONTAINER_RUNNING {
		return
	}
	c.State = kubeapi.ContainerState_CONTAINER_EXITED
	c.ExitCode = code
	c.FinishedAt = time.Now().UnixNano()
	if code == 0 {
		c.Reason = "Completed"
	} else {
		c.Reason = "Error"
	}
	go r.event("exit", id) // outside the runtime's lock
}

// writeLog appends one line in the CRI log format the kubelet reads (`kubectl logs`).
func writeLog(file, line string) {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), line)
}

func main() {
	listen := flag.String("listen", "", "unix socket path to serve the CRI runtime and image services on")
	records := flag.String("records", "", "file that receives one JSON line per CreateContainer request")
	flag.Parse()
	if *listen == "" || *records == "" {
		fmt.Fprintln(os.Stderr, "fakecri: --listen and --records are required")
		os.Exit(2)
	}
	out, err := os.OpenFile(*records, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakecri: %v\n", err)
		os.Exit(1)
	}
	base := fake.NewFakeRemoteRuntime()
	// What the kubelet needs to start containers: an image with a size, an image filesystem, and
	// the cgroup driver it is configured with.
	base.ImageService.SetFakeImageSize(1 << 20)
	fsUsage := []*kubeapi.FilesystemUsage{{
		Timestamp:  time.Now().UnixNano(),
		FsId:       &kubeapi.FilesystemIdentifier{Mountpoint: filepath.Dir(*records)},
		UsedBytes:  &kubeapi.UInt64Value{Value: 1 << 20},
		InodesUsed: &kubeapi.UInt64Value{Value: 10},
	}}
	base.ImageService.SetFakeFilesystemUsage(fsUsage)
	base.ImageService.SetFakeContainerFilesystemUsage(fsUsage)
	base.RuntimeService.FakeLinuxConfiguration = &kubeapi.LinuxRuntimeConfiguration{CgroupDriver: kubeapi.CgroupDriver_CGROUPFS}
	r := &runtime{RemoteRuntime: base, records: out, exits: map[string]exitRule{}, logs: map[string]string{}, lines: map[string]string{}}
	// Register our wrapper, not the embedded one: a fresh server with the same fake state.
	srv := newServer(r)
	_ = os.Remove(*listen)
	if err := srv.start(*listen); err != nil {
		fmt.Fprintf(os.Stderr, "fakecri: %v\n", err)
		os.Exit(1)
	}
	base.RuntimeService.FakeStatus = &kubeapi.RuntimeStatus{Conditions: []*kubeapi.RuntimeCondition{
		{Type: kubeapi.RuntimeReady, Status: true},
		{Type: kubeapi.NetworkReady, Status: true},
	}}
	// The fake appends every call's name to a slice; trim it so a long soak stays flat.
	go func() {
		for range time.Tick(30 * time.Second) {
			base.RuntimeService.Lock()
			base.RuntimeService.Called = nil
			base.RuntimeService.Unlock()
			base.ImageService.Lock()
			base.ImageService.Called = nil
			base.ImageService.Unlock()
		}
	}()
	fmt.Fprintf(os.Stderr, "fakecri: serving on %s, recording to %s\n", *listen, *records)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.stop()
	_ = os.Remove(*listen)
}
