-- The agent inbox: teams, assignment, presence, the collision guard,
-- canned replies, invitations, login throttling, per-workspace inbox
-- settings, and the event kinds of assignment and the maximum-wait notice.

-- Teams of a workspace; a conversation's `team` (set by a rule or an agent)
-- names one of them.
create table team (
    team_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    name text not null check (length(name) between 1 and 60),
    created_at timestamptz not null default now()
);
create unique index team_name_key on team (workspace_id, lower(name));

create table team_member (
    team_id uuid not null references team on delete cascade,
    account_id uuid not null references account on delete cascade,
    primary key (team_id, account_id)
);

-- Presence: an agent is online while an inbox socket of theirs is open
-- (`last_seen_at` within a minute) and they are not away; away is set by
-- the agent or by their inbox after a while idle. `max_open`: how many open
-- conversations automatic assignment gives them at most.
alter table membership
    add column away boolean not null default false,
    add column max_open int check (max_open is null or max_open between 1 and 500),
    add column last_assigned_at timestamptz;

-- The workspace a session is looking at (an account may belong to several).
alter table session add column workspace_id uuid references workspace on delete cascade;

-- When the visitor was told nobody could take the conversation yet, and
-- the chat's language (for the team's summary).
alter table conversation add column wait_notice_at timestamptz, add column language text;
create index conversation_waiting_idx on conversation (escalated_at)
    where status = 'waiting_human';

create table inbox_settings (
    workspace_id uuid primary key references workspace on delete cascade,
    -- A resolved conversation the visitor writes to again goes back to the
    -- AI (true) or to the queue (false, the default).
    reopen_to_ai boolean not null default false,
    -- Round-robin among available agents of the conversation's team.
    auto_assign boolean not null default false,
    -- How long a visitor waits before being told nobody is free yet.
    max_wait_minutes int not null default 10 check (max_wait_minutes between 1 and 1440),
    updated_at timestamptz not null default now()
);

create table canned_reply (
    canned_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    shortcut text not null check (shortcut ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    body text not null check (length(body) between 1 and 4000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (workspace_id, shortcut)
);

-- Invitation links; only a hash of the link's token is stored.
create table invitation (
    token_hash bytea primary key,
    workspace_id uuid not null references workspace on delete cascade,
    email text not null,
    role text not null check (role in ('admin', 'agent')),
    invited_by uuid references account on delete set null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    created_at timestamptz not null default now()
);
create index invitation_workspace_idx on invitation (workspace_id, created_at desc);

-- Failed sign-ins, by email and by address, for throttling (old rows are
-- deleted as new ones come).
create table login_failure (
    key text not null,
    at timestamptz not null default now()
);
create index login_failure_key_idx on login_failure (key, at);

-- Which agents have a conversation open now (the collision guard), until
-- when unless their socket renews it.
create unlogged table viewer (
    conversation_id uuid not null references conversation on delete cascade,
    account_id uuid not null,
    name text not null,
    until timestamptz not null,
    primary key (conversation_id, account_id)
);

alter table event drop constraint event_kind_check;
alter table event add constraint event_kind_check
    check (kind in ('visitor_message', 'ai_answer', 'human_reply', 'note', 'status_change',
                    'email_left', 'assigned', 'wait_notice'));

-- Email: follow-ups to visitors who left, reminders to agents. Rows are
-- sent by whichever instance claims them; a follow-up's text is composed
-- when it is sent (every reply since the last email the visitor has not
-- seen), and skipped if the visitor saw them in the chat meanwhile.
create table email_outbox (
    email_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    conversation_id uuid not null references conversation on delete cascade,
    kind text not null check (kind in ('follow_up', 'reminder')),
    to_address text not null,
    -- The last event the email is about.
    upto_seq bigint not null,
    send_after timestamptz not null default now(),
    attempts int not null default 0,
    last_error text,
    sent_at timestamptz,
    skipped boolean not null default false,
    created_at timestamptz not null default now()
);
create index email_outbox_due_idx on email_outbox (send_after) where sent_at is null and not skipped;
-- One pending follow-up per conversation: later replies join it.
create unique index email_outbox_pending_key on email_outbox (conversation_id, kind)
    where sent_at is null and not skipped;

alter table conversation
    -- The last team reply emailed to the visitor.
    add column emailed_seq bigint not null default 0,
    -- The visitor message the assignee was last reminded of.
    add column reminded_seq bigint not null default 0;

-- A visitor's chat socket is open until then (renewed every heartbeat).
alter table visitor add column connected_until timestamptz;

-- Links in follow-up emails: each is a key to the visitor's chat.
create table visitor_link (
    token_hash bytea primary key,
    visitor_id uuid not null references visitor on delete cascade,
    expires_at timestamptz not null,
    created_at timestamptz not null default now()
);

alter table inbox_settings
    -- Email the assignee when a visitor's message waits this long for them.
    add column remind_after_minutes int not null default 15
        check (remind_after_minutes between 1 and 1440);
