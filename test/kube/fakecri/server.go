package main

import (
	"net"

	"google.golang.org/grpc"
	kubeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// server registers the recording wrapper: fake.RemoteRuntime's own server would dispatch to the
// embedded methods and bypass the recording.
type server struct{ g *grpc.Server }

func newServer(r *runtime) *server {
	g := grpc.NewServer()
	kubeapi.RegisterRuntimeServiceServer(g, r)
	kubeapi.RegisterImageServiceServer(g, r)
	return &server{g: g}
}

func (s *server) start(socket string) error {
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	go s.g.Serve(l)
	return nil
}

func (s *server) stop() { s.g.Stop() }
