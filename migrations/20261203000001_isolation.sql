-- Workspaces are isolated in the database itself (issue 9).
--
-- Tandem serves as `tandem_app`, a role that owns nothing: every table that
-- holds a workspace's data has row-level security, forced, and one policy
-- letting a statement see and write only the rows of the workspace its
-- transaction has set (`select set_config('app.workspace_id', $1, true)`,
-- server/src/db.rs). With no workspace set, nothing is visible.
--
-- Global on purpose (no workspace of their own): workspace (a slug is found
-- before any workspace is known; its name is public through the widget),
-- account and login_failure (sign-in by email), session (found by its
-- token's hash; it records the workspace it looks at).

do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'tandem_app') then
        create role tandem_app login;
    end if;
exception
    -- Parallel migrations (one database per test) race to create the role.
    when duplicate_object or unique_violation then null;
end
$$;

grant usage on schema public to tandem_app;
grant select, insert, update, delete on all tables in schema public to tandem_app;
grant usage, select on all sequences in schema public to tandem_app;
revoke all on _sqlx_migrations from tandem_app;
alter default privileges in schema public
    grant select, insert, update, delete on tables to tandem_app;
alter default privileges in schema public
    grant usage, select on sequences to tandem_app;

-- The transaction's workspace; NULL when none is set (a setting once set
-- reads '' after its transaction, hence the nullif).
create function tandem_workspace() returns uuid
    language sql stable parallel safe
    as $$ select nullif(current_setting('app.workspace_id', true), '')::uuid $$;

-- Tables with their own workspace_id.
do $$
declare
    t text;
begin
    foreach t in array array[
        'answer_settings', 'canned_reply', 'chunk', 'conversation', 'decision',
        'email_outbox', 'file_blob', 'handoff_rule', 'inbox_settings',
        'ingest_job', 'invitation', 'membership', 'page', 'review_fix',
        'sensitive_category', 'snippet', 'source', 'team', 'visitor',
        'widget_settings'
    ] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy workspace on %I using (workspace_id = tandem_workspace()) '
            'with check (workspace_id = tandem_workspace())', t);
    end loop;
end
$$;

-- Tables that belong to a workspace through their parent: the parent's own
-- policy applies inside the subquery.
do $$
declare
    t text;
begin
    foreach t in array array[
        'event', 'seen', 'typing', 'ai_draft', 'viewer', 'answer_feedback'
    ] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format(
            'create policy workspace on %I using (exists (select 1 from conversation p '
            'where p.conversation_id = %I.conversation_id))', t, t);
    end loop;
end
$$;

alter table crawl_item enable row level security;
alter table crawl_item force row level security;
create policy workspace on crawl_item using (
    exists (select 1 from ingest_job p where p.job_id = crawl_item.job_id));

alter table team_member enable row level security;
alter table team_member force row level security;
create policy workspace on team_member using (
    exists (select 1 from team p where p.team_id = team_member.team_id));

alter table visitor_link enable row level security;
alter table visitor_link force row level security;
create policy workspace on visitor_link using (
    exists (select 1 from visitor p where p.visitor_id = visitor_link.visitor_id));
