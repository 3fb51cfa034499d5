package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/agent/spool"
)

// local reaches the agent: over its local API when it runs (the buffer file
// is then locked by it), else by opening the buffer directly.
type local struct {
	e    *env
	cfg  *config.Config
	base string
	sp   *spool.Spool // set when the agent is not running
}

// connect finds the running agent, or opens the buffer itself.
func (e *env) connect(needSpool bool) (*local, error) {
	c, err := e.load()
	if err != nil {
		return nil, err
	}
	l := &local{e: e, cfg: c, base: "http://" + c.Status.Listen}
	ctx, cancel := within(e.ctx, 3*time.Second)
	defer cancel()
	if err := l.get(ctx, "/api/status", nil); err == nil {
		return l, nil
	}
	l.base = ""
	if !needSpool {
		return l, nil
	}
	sp, rec, err := spool.Open(spool.Options{Path: c.Buffer.Path, MaxSize: int64(c.Buffer.MaxSize), LockTimeout: time.Second})
	if errors.Is(err, spool.ErrLocked) {
		return nil, fmt.Errorf("the buffer %s is held by a running agent, but its local API at %s does not answer: is status.listen the same in both configurations?", c.Buffer.Path, c.Status.Listen)
	}
	if err != nil {
		return nil, err
	}
	if rec != nil {
		fmt.Fprintf(e.stderr, "warning: the buffer file was damaged; it was set aside as %s (%s)\n", rec.SetAside, rec.Reason)
	}
	l.sp = sp
	return l, nil
}

func (l *local) running() bool { return l.base != "" }

func (l *local) close() {
	if l.sp != nil {
		l.sp.Close()
	}
}

func (l *local) get(ctx context.Context, path string, out any) error {
	return l.do(ctx, http.MethodGet, path, out)
}

func (l *local) do(ctx context.Context, method, path string, out any) error {
	resp, err := l.send(ctx, method, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	return json.Unmarshal(body, out)
}

// stream posts and decodes NDJSON lines as they come.
func (l *local) stream(ctx context.Context, path string, each func(line []byte) error) error {
	resp, err := l.send(ctx, http.MethodPost, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if err := each(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// send makes a request to the running agent. An answer of 300 or more is an
// error: the agent's own {"error": …} when it gave one.
func (l *local) send(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ae := &agentError{status: resp.StatusCode, body: body, msg: "the agent answered " + resp.Status}
	var e struct{ Error string }
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		ae.msg = e.Error
	}
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest {
		return nil, usageError{ae}
	}
	return nil, ae
}

// agentError is an answer of 300 or more from the running agent: its own
// message when it gave one, and the body for callers that read more of it.
type agentError struct {
	status int
	msg    string
	body   []byte
}

func (e *agentError) Error() string { return e.msg }

func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Add(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// inProcess builds an agent on the buffer for commands that import while
// the service is stopped (sync, backfill): what they queue is delivered when
// the agent runs again. The caller closes it with closeAgent.
func (l *local) inProcess() (*agent.Agent, error) {
	l.close()
	l.sp = nil
	logger := l.e.consoleLogger()
	state := &lazyState{}
	_, list, err := buildSources(l.cfg, sourceDeps{logger: logger, state: state})
	if err != nil {
		return nil, usageError{err}
	}
	a, err := agent.New(l.cfg, agent.Options{Logger: logger, Version: version, Sources: list})
	if err != nil {
		return nil, err
	}
	state.sp = a.Spool()
	return a, nil
}
