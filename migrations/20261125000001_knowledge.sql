-- Knowledge ingestion: three kinds of source (website, file, answer
-- snippets), background ingest jobs with a persisted crawl frontier, the
-- HTTP validators and links of each page for cheap re-crawls.

alter table source drop constraint source_kind_check;
alter table source add constraint source_kind_check
    check (kind in ('website', 'file', 'snippets'));
alter table source drop column status, drop column pages_found,
    drop column pages_done, drop column error;
alter table source
    add column title text not null default '',
    -- Crawl settings of a website: extra URL prefixes, page and depth limits,
    -- requests at once per host.
    add column settings jsonb not null default '{}',
    -- Re-crawl schedule (NULL: on demand only).
    add column recrawl_hours int check (recrawl_hours > 0),
    add column next_crawl_at timestamptz;

alter table page
    add column etag text,
    add column last_modified text,
    add column sitemap_lastmod text,
    -- Links found on the page, so an unchanged page (304, same lastmod)
    -- still feeds the crawl frontier without being fetched again.
    add column links text[] not null default '{}';
create index page_hash_idx on page (source_id, content_hash);

-- The bytes of an uploaded file; its source's start_url is its stable URL.
create table file_blob (
    source_id uuid primary key references source on delete cascade,
    workspace_id uuid not null references workspace on delete cascade,
    filename text not null,
    content_type text not null,
    bytes bytea not null,
    created_at timestamptz not null default now()
);

-- Question/answer pairs written by admins; each is indexed as a page of the
-- workspace's 'snippets' source.
create table snippet (
    snippet_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    question text not null check (length(question) between 1 and 500),
    answer text not null check (length(answer) between 1 and 10000),
    created_by uuid references account on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index snippet_workspace_idx on snippet (workspace_id, created_at desc);

create table ingest_job (
    job_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    source_id uuid not null references source on delete cascade,
    status text not null default 'queued'
        check (status in ('queued', 'running', 'done', 'failed', 'cancelled')),
    cancel_requested boolean not null default false,
    -- Whether the frontier has been seeded (start URL, sitemaps).
    seeded boolean not null default false,
    -- The instance working on it and until when; an expired lease is
    -- taken over (a crashed or restarted server resumes its jobs).
    lease_owner uuid,
    lease_until timestamptz,
    pages_found int not null default 0,
    pages_done int not null default 0,
    pages_changed int not null default 0,
    pages_unchanged int not null default 0,
    pages_skipped int not null default 0,
    pages_failed int not null default 0,
    chunks int not null default 0,
    -- Seconds spent fetching + cleaning + chunking, and embedding.
    crawl_seconds double precision not null default 0,
    embed_seconds double precision not null default 0,
    message text,
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz
);
create unique index ingest_job_active_key on ingest_job (source_id)
    where status in ('queued', 'running');
create index ingest_job_queue_idx on ingest_job (created_at) where status in ('queued', 'running');
create index ingest_job_source_idx on ingest_job (source_id, created_at desc);

-- The crawl frontier and per-page outcome of a job.
create table crawl_item (
    job_id uuid not null references ingest_job on delete cascade,
    url text not null,
    depth int not null,
    state text not null default 'queued'
        check (state in ('queued', 'changed', 'unchanged', 'skipped', 'failed', 'duplicate')),
    -- What happened, in words ("HTTP 404", "disallowed by robots.txt").
    detail text,
    sitemap_lastmod text,
    -- The page (canonical, after redirects) this item stored or kept.
    page_url text,
    updated_at timestamptz not null default now(),
    primary key (job_id, url)
);
create index crawl_item_queued_idx on crawl_item (job_id, depth) where state = 'queued';
