-- The chat widget: its look and language, the sites that may embed it, and
-- the secret a site signs its signed-in users' ids with. One row per
-- workspace, created with a fresh secret the first time it is read.
create table widget_settings (
    workspace_id uuid primary key references workspace on delete cascade,
    brand_color text not null default '#b45309' check (brand_color ~ '^#[0-9a-f]{6}$'),
    position text not null default 'right' check (position in ('left', 'right')),
    -- Null: the default text in the widget's language.
    greeting text check (char_length(greeting) <= 500),
    launcher_text text check (char_length(launcher_text) <= 40),
    -- 'auto': the visitor's browser language when the widget speaks it.
    language text not null default 'auto'
        check (language in ('auto', 'en', 'de', 'fr', 'es', 'ja')),
    -- Origins ("https://shop.example") allowed to embed the widget; empty: any.
    allowed_origins text[] not null default '{}',
    -- HMAC-SHA256 key for identity verification (hex).
    identity_secret text not null,
    updated_at timestamptz not null default now()
);

-- A visitor the site vouched for (a signed user id), with what it told us.
alter table visitor
    add column external_id text,
    add column name text,
    add column email text,
    add column verified boolean not null default false;
create unique index visitor_external_key on visitor (workspace_id, external_id)
    where external_id is not null;

-- Where the team can follow up when nobody could answer live.
alter table conversation add column follow_up_email text;

-- Presence: when an agent's inbox last showed signs of life.
alter table membership add column last_seen_at timestamptz;

alter table event drop constraint event_kind_check;
alter table event add constraint event_kind_check
    check (kind in ('visitor_message', 'ai_answer', 'human_reply', 'note', 'status_change',
                    'email_left'));
