-- Issue 19: a multilingual embedding model, and full-text search in each
-- page's own language.

-- Which model made each chunk's vector. The rows that exist now were made by
-- all-MiniLM-L6-v2; every insert names its model from now on. A background
-- job (server/src/ingest/reembed.rs) re-embeds a workspace's chunks with the
-- current model into `embedding_next`, and swaps them in all at once when
-- the workspace is complete: retrieval keeps the old vectors until then.
alter table chunk add column embedded_with text not null default 'all-minilm-l6-v2';
alter table chunk alter column embedded_with drop default;
alter table chunk add column embedding_next vector(384);
create index chunk_model_idx on chunk (workspace_id, embedded_with);

-- The English companion model's vector (all-MiniLM-L6-v2, the model of
-- earlier versions): English questions are searched with it too, fused with
-- the multilingual search. Existing rows get theirs from `embedding` now
-- (their vectors are exactly that model's), so English questions find every
-- chunk while the job re-embeds them for the multilingual model.
alter table chunk add column embedding_en vector(384);
-- (The owner is subject to the forced policy too: lifted for this update.)
alter table chunk no force row level security;
alter table chunk disable row level security;
update chunk set embedding_en = embedding where embedded_with = 'all-minilm-l6-v2';
alter table chunk enable row level security;
alter table chunk force row level security;
create index chunk_embedding_en_idx on chunk using hnsw (embedding_en vector_cosine_ops);

-- The page's language as a text-search configuration (detected per page;
-- 'simple' for languages PostgreSQL does not stem): a German page is stemmed
-- as German.
alter table chunk add column ts_config regconfig not null default 'english';
alter table chunk drop column search;
alter table chunk add column search tsvector generated always as (
    setweight(to_tsvector(ts_config, heading_path), 'A')
    || setweight(to_tsvector(ts_config, content), 'B')
) stored;
create index chunk_search_idx on chunk using gin (search);

-- The model of each stored question embedding (decisions) and topic centre
-- (review fixes); rows from now on are the default model's. The
-- re-embedding job recomputes those of an older model.
alter table decision add column embedded_with text not null default 'all-minilm-l6-v2';
alter table decision alter column embedded_with set default 'multilingual-e5-small';
alter table review_fix add column embedded_with text not null default 'all-minilm-l6-v2';
alter table review_fix alter column embedded_with set default 'multilingual-e5-small';

-- The admin's own examples and phrases of requests for a person (the
-- built-in examples are in the code).
alter table answer_settings add column human_request jsonb not null default '{}';

-- Confidence calibrated per workspace: the admin sets a target in words
-- ("hand off at most N % of the questions the content answers"); after each
-- ingest Tandem asks its own questions of the content (made from its
-- passages, and off-topic ones) and keeps the trade-off curve, from which the
-- threshold for the target follows. A workspace whose admin had set a
-- threshold keeps it (no target).
alter table answer_settings add column handoff_target real default 0.15
    check (handoff_target is null or handoff_target between 0 and 1);
-- (The owner is subject to the forced policy too: lifted for this one update.)
alter table answer_settings no force row level security;
alter table answer_settings disable row level security;
update answer_settings set handoff_target = null where confidence_threshold is not null;
alter table answer_settings enable row level security;
alter table answer_settings force row level security;

create table calibration (
    workspace_id uuid primary key references workspace on delete cascade,
    -- [{threshold, answerable_handoff, unanswerable_answered}], by threshold.
    curve jsonb not null,
    answerable int not null,
    unanswerable int not null,
    computed_at timestamptz not null default now()
);
alter table calibration enable row level security;
alter table calibration force row level security;
create policy workspace on calibration
    using (workspace_id = tandem_workspace()) with check (workspace_id = tandem_workspace());
