-- A revoked invitation is kept (marked), so what a workspace and an admin
-- sent today still counts against the daily cap after a revoke.
alter table invitation add column revoked_at timestamptz;
create index invitation_invited_by_idx on invitation (invited_by, created_at);

-- Who created a workspace from the app (an account's daily cap counts
-- these; a role changed later frees none).
alter table workspace add column created_by uuid references account on delete set null;
create index workspace_created_by_idx on workspace (created_by, created_at);
