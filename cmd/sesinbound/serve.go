package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/sesinbound/sesinbound/emulator"
)

func newLogger(c Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c, showVersion, err := parseServeFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	if showVersion {
		fmt.Fprintln(stderr, "sesinbound", version)
		return nil
	}
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	ec := c.Config
	ec.Log, ec.Getenv, ec.Version = log, getenv, version
	em, err := emulator.Start(ctx, ec)
	if err != nil {
		return err
	}
	if ec.DataDir != "" {
		// Rebuilding the indexes from a large data directory leaves as
		// much garbage as there is index; give it back now rather than
		// keep it until the heap next grows.
		debug.FreeOSMemory()
	}
	defer em.Close()

	select {
	case <-ctx.Done():
	case err := <-em.Err():
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := em.Shutdown(shutCtx); err != nil {
		log.Warn("shutdown deadline passed; closed the remaining connections", slog.Any("err", err))
	}
	log.Info("stopped")
	return nil
}
