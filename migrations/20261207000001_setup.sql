-- The first run: while no account administers a workspace of the install's
-- own (the demo's aside), one setup code lets the first visitor holding it
-- create the first workspace and its admin. Only the owner reads it: the
-- serving role may not, so no request can learn it.
create table install_setup (
    single boolean primary key default true check (single),
    code text not null,
    created_at timestamptz not null default now()
);
revoke all on install_setup from tandem_app;
