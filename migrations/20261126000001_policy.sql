-- Answer engine and handoff policy: per-workspace settings, sensitive
-- categories, admin rules, and every decision with its signals (for replay).

create table answer_settings (
    workspace_id uuid primary key references workspace on delete cascade,
    -- null: the default threshold chosen on the tune set.
    confidence_threshold real check (confidence_threshold between 0 and 1),
    generator jsonb not null default '{"kind": "builtin"}',
    support_hours jsonb,
    updated_at timestamptz not null default now()
);

create table sensitive_category (
    workspace_id uuid not null references workspace on delete cascade,
    name text not null check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    enabled boolean not null default true,
    phrases text[] not null default '{}',
    examples text[] not null default '{}',
    position int not null default 0,
    primary key (workspace_id, name)
);

create table handoff_rule (
    rule_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    position int not null,
    name text not null,
    enabled boolean not null default true,
    conditions jsonb not null,
    action jsonb not null
);
create index handoff_rule_workspace_idx on handoff_rule (workspace_id, position);

-- One row per visitor message the policy decided on.
create table decision (
    decision_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    conversation_id uuid references conversation on delete cascade,
    question text not null,
    record jsonb not null,
    -- The stored AI answer's seq, when the AI answered.
    answer_seq bigint,
    created_at timestamptz not null default now()
);
create index decision_workspace_idx on decision (workspace_id, created_at desc);
create index decision_conversation_idx on decision (conversation_id, created_at desc);

-- What the visitor's site told us, and what rules set.
alter table conversation
    add column page_url text,
    add column team text,
    add column priority text not null default 'normal'
        check (priority in ('low', 'normal', 'high', 'urgent')),
    add column tags text[] not null default '{}';
alter table visitor add column attributes jsonb not null default '{}';

-- Thumbs up/down on an AI answer (the event's seq).
create table answer_feedback (
    conversation_id uuid not null references conversation on delete cascade,
    seq bigint not null,
    helpful boolean not null,
    created_at timestamptz not null default now(),
    primary key (conversation_id, seq)
);
