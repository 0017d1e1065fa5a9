-- Learning from escalations (issue 8).

-- The question's embedding, stored as the decision is made (earlier
-- decisions are embedded when the review first needs them): topics, the
-- before/after of a fix and "means the same as" rules compare by meaning.
alter table decision add column embedding vector(384);

-- A fix made from a topic of escalations: a snippet written, a source
-- re-crawled, or the topic marked "always a person" (an admin rule). The
-- topic is kept as its centre and questions, since topics are recomputed
-- from the escalations each time: later questions near the centre are the
-- topic's, for the handoff rate before and after the fix.
create table review_fix (
    fix_id uuid primary key,
    workspace_id uuid not null references workspace on delete cascade,
    kind text not null check (kind in ('snippet', 'recrawl', 'rule')),
    -- The topic's name (its most typical question) when fixed.
    topic text not null,
    centre vector(384) not null,
    questions text[] not null,
    -- What was made, as an admin reads it: the snippet's question, the
    -- source's title, the rule's name.
    target text not null,
    created_by uuid references account on delete set null,
    created_at timestamptz not null default now()
);
create index review_fix_workspace_idx on review_fix (workspace_id, created_at desc);
