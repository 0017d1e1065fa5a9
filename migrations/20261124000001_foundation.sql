-- Foundation schema: workspaces, accounts, knowledge, conversations and
-- their ordered event log.

create extension if not exists vector;

create table workspace (
    workspace_id uuid primary key,
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name text not null,
    created_at timestamptz not null default now()
);

create table account (
    account_id uuid primary key,
    email text not null,
    name text not null,
    password_hash text not null,
    created_at timestamptz not null default now()
);
create unique index account_email_key on account (lower(email));

create table membership (
    account_id uuid not null references account on delete cascade,
    workspace_id uuid not null references workspace on delete cascade,
    role text not null check (role in ('admin', 'agent')),
    created_at timestamptz not null default now(),
    primary key (account_id, workspace_id)
);

-- Login sessions; only a hash of the cookie's token is stored.
create table session (
    token_hash bytea primary key,
    account_id uuid not null references account on delete cascade,
    expires_at timestamptz not null,
    created_at timestamptz not null default now()
);

-- A source of knowledge: a crawled website (later: a file, a snippet).
create table source (
    source_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    kind text not null check (kind in ('website')),
    start_url text not null,
    status text not null default 'pending'
        check (status in ('pending', 'running', 'done', 'failed')),
    pages_found int not null default 0,
    pages_done int not null default 0,
    error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (workspace_id, start_url)
);

create table page (
    page_id uuid primary key,
    source_id uuid not null references source on delete cascade,
    workspace_id uuid not null references workspace on delete cascade,
    url text not null,
    title text not null,
    content_hash bytea not null,
    fetched_at timestamptz not null default now(),
    unique (source_id, url)
);

create table chunk (
    chunk_id uuid primary key,
    page_id uuid not null references page on delete cascade,
    workspace_id uuid not null references workspace on delete cascade,
    ordinal int not null,
    heading_path text not null,
    anchor text,
    content text not null,
    embedding vector(384) not null,
    search tsvector generated always as (
        setweight(to_tsvector('english', heading_path), 'A')
        || setweight(to_tsvector('english', content), 'B')
    ) stored
);
create index chunk_embedding_idx on chunk using hnsw (embedding vector_cosine_ops);
create index chunk_search_idx on chunk using gin (search);
create index chunk_workspace_idx on chunk (workspace_id);

create table visitor (
    visitor_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    token_hash bytea not null unique,
    created_at timestamptz not null default now()
);

create table conversation (
    conversation_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    visitor_id uuid not null references visitor on delete cascade,
    status text not null default 'ai'
        check (status in ('ai', 'waiting_human', 'open', 'resolved')),
    handoff_reason jsonb,
    assignee_id uuid references account on delete set null,
    last_seq bigint not null default 0,
    escalated_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index conversation_workspace_idx on conversation (workspace_id, updated_at desc);
create index conversation_visitor_idx on conversation (visitor_id, created_at desc);

-- The ordered log of a conversation. `seq` is assigned in the inserting
-- transaction from conversation.last_seq: no gaps, no duplicates.
create table event (
    conversation_id uuid not null references conversation on delete cascade,
    seq bigint not null,
    client_id uuid,
    kind text not null
        check (kind in ('visitor_message', 'ai_answer', 'human_reply', 'status_change')),
    payload jsonb not null,
    created_at timestamptz not null default now(),
    primary key (conversation_id, seq)
);
create unique index event_client_id_key on event (conversation_id, client_id)
    where client_id is not null;
