-- Privacy (issue 9): retention, and an audit log of what was done with
-- people's data.

-- How long conversations are kept after their last activity. A workspace
-- without a row keeps them 365 days (retention is on by default); a NULL
-- keeps them until deleted by hand.
create table privacy_settings (
    workspace_id uuid primary key references workspace on delete cascade,
    retention_days int check (retention_days is null or retention_days between 7 and 3650),
    updated_at timestamptz not null default now()
);

-- Exports, erasures and retention: who did what, kept after the subject is
-- gone (no foreign key to it). `actor_name` stays when the account goes;
-- the retention sweep's entries have no actor.
create table audit_log (
    audit_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    at timestamptz not null default now(),
    actor_id uuid references account on delete set null,
    actor_name text not null,
    action text not null check (action in (
        'visitor_exported', 'visitor_erased', 'source_erased',
        'retention_changed', 'retention_deleted')),
    subject text not null,
    detail jsonb not null default '{}'
);
create index audit_log_workspace_idx on audit_log (workspace_id, at desc);
-- The retention sweep finds conversations by their last activity.
create index conversation_updated_idx on conversation (workspace_id, updated_at);

alter table privacy_settings enable row level security;
alter table privacy_settings force row level security;
create policy workspace on privacy_settings
    using (workspace_id = tandem_workspace()) with check (workspace_id = tandem_workspace());
alter table audit_log enable row level security;
alter table audit_log force row level security;
create policy workspace on audit_log
    using (workspace_id = tandem_workspace()) with check (workspace_id = tandem_workspace());
