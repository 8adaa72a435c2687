package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// env returns a getenv over a fixed map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// sample returns, for an option, a value to set it to from the
// environment, one from a flag, and how each reads back through String.
func sample(t *testing.T, o option) (fromEnv, fromFlag, wantEnv, wantFlag string) {
	t.Helper()
	switch o.value.(type) {
	case *stringValue:
		return "from-env", "from-flag", "from-env", "from-flag"
	case *boolValue:
		// Each default is flipped by the environment and flipped back by
		// the flag.
		if o.value.String() == "true" {
			return "false", "true", "false", "true"
		}
		return "true", "false", "true", "false"
	case *intValue:
		if o.flag == "webhook-batch" { // at most 1000
			return "20", "30", "20", "30"
		}
		return "2000", "3000", "2000", "3000"
	case *sizeValue:
		return "2MB", "3MiB", "2097152", "3145728"
	case *durationValue:
		return "7s", "9m", "7s", "9m0s"
	}
	t.Fatalf("option %s: no sample for %T", o.flag, o.value)
	return
}

// TestFlagsOverEnvironment: for every option, the variable sets it, and the
// flag wins over the variable.
func TestFlagsOverEnvironment(t *testing.T) {
	defaults := DefaultConfig()
	for i, o := range defaults.options() {
		t.Run(o.flag, func(t *testing.T) {
			fromEnv, fromFlag, wantEnv, wantFlag := sample(t, o)
			vars := map[string]string{o.env: fromEnv}
			c, _, err := parseServeFlags(nil, env(vars), io.Discard)
			if err != nil {
				t.Fatalf("%s=%s: %v", o.env, fromEnv, err)
			}
			if got := c.options()[i].value.String(); got != wantEnv {
				t.Errorf("%s=%s gives %q, want %q", o.env, fromEnv, got, wantEnv)
			}
			c, _, err = parseServeFlags([]string{"--" + o.flag + "=" + fromFlag}, env(vars), io.Discard)
			if err != nil {
				t.Fatalf("--%s=%s with %s=%s: %v", o.flag, fromFlag, o.env, fromEnv, err)
			}
			if got := c.options()[i].value.String(); got != wantFlag {
				t.Errorf("--%s=%s with %s=%s gives %q, want the flag's %q", o.flag, fromFlag, o.env, fromEnv, got, wantFlag)
			}
			if envOf("--"+o.flag) != o.env {
				t.Errorf("the variable of --%s is %s, not %s as its error messages say", o.flag, o.env, envOf("--"+o.flag))
			}
		})
	}
}

func TestDefaultsWithNothingSet(t *testing.T) {
	c, showVersion, err := parseServeFlags(nil, env(nil), io.Discard)
	if err != nil || showVersion {
		t.Fatalf("parseServeFlags() = %v, version %v", err, showVersion)
	}
	def := DefaultConfig()
	for i, o := range c.options() {
		if got, want := o.value.String(), def.options()[i].value.String(); got != want {
			t.Errorf("--%s with nothing set = %q, want the default %q", o.flag, got, want)
		}
	}
	if c.MaxMessageBytes != 40<<20 || c.DeliverTimeout != 30*time.Second || c.SMTPAddr != "127.0.0.1:2525" || !c.PathStyle {
		t.Fatalf("defaults = %+v", c)
	}
}

// TestRangeChecks: every limit refuses a value outside its range, from a
// flag or from the environment, naming both the flag and the variable;
// the bounds themselves are accepted.
func TestRangeChecks(t *testing.T) {
	for _, tt := range []struct {
		flag, bad, edge string
	}{
		{"max-message-size", "0", "1"},
		{"max-recipients", "99", "100"},
		{"max-line-length", "999", "1000"},
		{"max-header-size", "0", "1"},
		{"max-header-fields", "0", "1"},
		{"max-header-fields", "-5", "1"},
		{"max-conns", "0", "1"},
		{"webhook-batch", "0", "1"},
		{"webhook-batch", "1001", "1000"},
		{"command-timeout", "0s", "1ns"},
		{"data-timeout", "-1s", "1ns"},
		{"deliver-timeout", "0s", "1ns"},
	} {
		t.Run(tt.flag+"="+tt.bad, func(t *testing.T) {
			variable := envOf("--" + tt.flag)
			for name, parse := range map[string]func(v string) error{
				"flag": func(v string) error {
					_, _, err := parseServeFlags([]string{"--" + tt.flag + "=" + v}, env(nil), io.Discard)
					return err
				},
				"environment": func(v string) error {
					_, _, err := parseServeFlags(nil, env(map[string]string{variable: v}), io.Discard)
					return err
				},
			} {
				err := parse(tt.bad)
				if err == nil || !strings.Contains(err.Error(), "--"+tt.flag) || !strings.Contains(err.Error(), variable) ||
					!strings.Contains(err.Error(), "out of range") {
					t.Errorf("%s %s: err = %v, want out of range naming --%s and %s", name, tt.bad, err, tt.flag, variable)
				}
				if err := parse(tt.edge); err != nil {
					t.Errorf("%s %s (the bound): %v", name, tt.edge, err)
				}
			}
		})
	}
}

func TestBadValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"variable not a number", nil, map[string]string{"SESINBOUND_MAX_CONNS": "lots"}, `SESINBOUND_MAX_CONNS="lots": want a whole number`},
		{"variable not a size", nil, map[string]string{"SESINBOUND_MAX_MESSAGE_SIZE": "40 furlongs"}, "SESINBOUND_MAX_MESSAGE_SIZE"},
		{"variable not a duration", nil, map[string]string{"SESINBOUND_DATA_TIMEOUT": "soon"}, "want a duration"},
		{"variable not a bool", nil, map[string]string{"SESINBOUND_NO_CREATE": "maybe"}, "want true or false"},
		{"flag not a number", []string{"--max-recipients", "many"}, nil, "max-recipients"},
		{"negative size", []string{"--max-header-size=-1"}, nil, "want a size"},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
		// A bad variable is an error even when a flag would override it.
		{"bad variable under a flag", []string{"--max-conns=5"}, map[string]string{"SESINBOUND_MAX_CONNS": "x"}, "SESINBOUND_MAX_CONNS"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseServeFlags(tt.args, env(tt.vars), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEmptyVariableIsUnset(t *testing.T) {
	c, _, err := parseServeFlags(nil, env(map[string]string{"SESINBOUND_SMTP_ADDR": "", "SESINBOUND_MAX_CONNS": ""}), io.Discard)
	if err != nil || c.SMTPAddr != DefaultConfig().SMTPAddr || c.MaxConns != DefaultConfig().MaxConns {
		t.Fatalf("empty variables: %v, %+v", err, c)
	}
}

func TestVersionFlag(t *testing.T) {
	if _, showVersion, err := parseServeFlags([]string{"--version"}, env(nil), io.Discard); err != nil || !showVersion {
		t.Fatalf("--version = %v, %v", showVersion, err)
	}
}
