-- How many of a workspace's chunks hold each lexeme. The keyword search
-- looks for the question's rarer words only (as many as fit a fixed number
-- of chunks to rank), so its cost is bounded by what it ranks, not by the
-- size of the corpus (retrieve.rs). Kept by statement triggers on chunk.
create table lexeme (
    workspace_id uuid not null references workspace on delete cascade,
    lexeme text not null,
    chunks int not null,
    primary key (workspace_id, lexeme)
);
alter table lexeme enable row level security;
alter table lexeme force row level security;
create policy workspace on lexeme
    using (workspace_id = tandem_workspace()) with check (workspace_id = tandem_workspace());

-- Writers of one workspace's counts take turns (the upserts of two pages
-- stored at once would otherwise lock the same rows in different orders).
create function lexeme_lock(workspaces uuid[]) returns void language plpgsql as $$
declare w uuid;
begin
    for w in select distinct x from unnest(workspaces) x order by 1 loop
        perform pg_advisory_xact_lock(hashtext('lexemes:' || w::text));
    end loop;
end $$;

create function lexeme_chunks_added() returns trigger language plpgsql as $$
begin
    perform lexeme_lock(array(select distinct workspace_id from added));
    insert into lexeme (workspace_id, lexeme, chunks)
    select a.workspace_id, x, count(*) from added a, unnest(tsvector_to_array(a.search)) x
    group by 1, 2 order by 1, 2
    on conflict (workspace_id, lexeme) do update set chunks = lexeme.chunks + excluded.chunks;
    return null;
end $$;

create function lexeme_chunks_removed() returns trigger language plpgsql as $$
begin
    perform lexeme_lock(array(select distinct workspace_id from removed));
    update lexeme l set chunks = l.chunks - r.n
    from (select workspace_id, x as lexeme, count(*) as n
          from removed, unnest(tsvector_to_array(search)) x group by 1, 2) r
    where l.workspace_id = r.workspace_id and l.lexeme = r.lexeme;
    delete from lexeme l
    using (select distinct workspace_id, x as lexeme
           from removed, unnest(tsvector_to_array(search)) x) r
    where l.workspace_id = r.workspace_id and l.lexeme = r.lexeme and l.chunks <= 0;
    return null;
end $$;

-- An update that changes what a chunk says counts as its removal and its
-- addition (the embedding moves change no text and cost one comparison).
create function lexeme_chunks_changed() returns trigger language plpgsql as $$
begin
    if not exists (select 1 from before_rows o join after_rows n using (chunk_id)
                   where o.search is distinct from n.search or o.workspace_id <> n.workspace_id) then
        return null;
    end if;
    perform lexeme_lock(array(select workspace_id from before_rows union select workspace_id from after_rows));
    update lexeme l set chunks = l.chunks - r.n
    from (select o.workspace_id, x as lexeme, count(*) as n
          from before_rows o join after_rows n using (chunk_id), unnest(tsvector_to_array(o.search)) x
          where o.search is distinct from n.search or o.workspace_id <> n.workspace_id
          group by 1, 2) r
    where l.workspace_id = r.workspace_id and l.lexeme = r.lexeme;
    insert into lexeme (workspace_id, lexeme, chunks)
    select n.workspace_id, x, count(*)
    from after_rows n join before_rows o using (chunk_id), unnest(tsvector_to_array(n.search)) x
    where o.search is distinct from n.search or o.workspace_id <> n.workspace_id
    group by 1, 2 order by 1, 2
    on conflict (workspace_id, lexeme) do update set chunks = lexeme.chunks + excluded.chunks;
    delete from lexeme where chunks <= 0
      and workspace_id in (select workspace_id from before_rows);
    return null;
end $$;

create trigger lexeme_added after insert on chunk
    referencing new table as added for each statement execute function lexeme_chunks_added();
create trigger lexeme_removed after delete on chunk
    referencing old table as removed for each statement execute function lexeme_chunks_removed();
create trigger lexeme_changed after update on chunk
    referencing old table as before_rows new table as after_rows
    for each statement execute function lexeme_chunks_changed();

-- The counts of what is already there (the owner is subject to the forced
-- policies too: lifted for this one statement).
alter table lexeme no force row level security;
alter table lexeme disable row level security;
alter table chunk no force row level security;
alter table chunk disable row level security;
insert into lexeme (workspace_id, lexeme, chunks)
select workspace_id, x, count(*) from chunk, unnest(tsvector_to_array(search)) x group by 1, 2;
alter table chunk enable row level security;
alter table chunk force row level security;
alter table lexeme enable row level security;
alter table lexeme force row level security;
