-- Workload identity clients hold no secret and no key: they trust an
-- identity issuer (GitHub Actions, GitLab CI, a Kubernetes cluster, a
-- SPIFFE trust domain) and the claim conditions their owner wrote. See
-- core/src/workload_identity. Portable SQL as in 0001.

-- auth_method 'workload_identity': the trust, as JSON (issuer, optional
-- static JWK Set, audience, conditions, preset).
alter table clients add column workload_trust text;
-- The workload that signed in last (issuer, sub and the matched claims),
-- written with last_used_at.
alter table clients add column last_workload text;
