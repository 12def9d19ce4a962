package main

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rustok/rustok/domain"
)

// authMetrics are the rustok_auth_* lifecycle counters of CONTRACT.md, by
// event and result code ("OK" or the error code of domain: a bounded set).
// Every command is also counted by rustok_commands_total; these count what
// an operator watches for abuse and outages in one place: sign-ins,
// refreshes, sign-outs, password resets and credential checks.
type authMetrics struct {
	signIns, refreshes, signOuts, resets, credentials *prometheus.CounterVec
}

func newAuthMetrics(reg prometheus.Registerer) (*authMetrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rustok_auth_" + name, Help: help}, labels)
	}
	m := &authMetrics{
		signIns:     counter("sign_ins_total", "Sign-ins (and sign-ups' sign-ins), by result code.", "code"),
		refreshes:   counter("refreshes_total", "Refresh token exchanges, by result code (UNAUTHENTICATED includes reuse).", "code"),
		signOuts:    counter("sign_outs_total", "Sign-outs, by result code.", "code"),
		resets:      counter("password_resets_total", "Password reset steps (requested, completed), by result code.", "step", "code"),
		credentials: counter("credential_checks_total", "Bearer credentials checked on /api, by kind (jwt, api_key) and result code.", "kind", "code"),
	}
	for _, c := range []prometheus.Collector{m.signIns, m.refreshes, m.signOuts, m.resets, m.credentials} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			return nil, err
		}
	}
	return m, nil
}

// code is the result label of err.
func code(err error) string {
	if err == nil {
		return "OK"
	}
	return string(domain.CodeOf(err))
}
