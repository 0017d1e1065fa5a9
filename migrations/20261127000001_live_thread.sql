-- The live thread: private notes, the AI turn's lease and debounce inputs,
-- drafts and typing (ephemeral, unlogged), read positions, and whether the AI
-- keeps answering while the visitor waits for a person.

alter table event drop constraint event_kind_check;
alter table event add constraint event_kind_check
    check (kind in ('visitor_message', 'ai_answer', 'human_reply', 'note', 'status_change'));

-- The seq of the conversation's last visitor message: pending AI work is
-- `visitor_seq > ai_handled_seq` (kept here so the sweep needs no scan of events).
alter table conversation add column visitor_seq bigint not null default 0;
update conversation c set visitor_seq = coalesce(
    (select max(seq) from event e where e.conversation_id = c.conversation_id and e.kind = 'visitor_message'), 0);
-- What was written before this migration is history: the AI does not go back
-- to answer it.
update conversation set ai_handled_seq = greatest(ai_handled_seq, visitor_seq);
-- One instance at a time runs a conversation's AI turn: it holds this lease
-- and renews it while it works; a crashed instance's lease lapses.
alter table conversation add column turn_owner uuid;
alter table conversation add column turn_until timestamptz;
create index conversation_pending_idx on conversation (updated_at)
    where visitor_seq > ai_handled_seq and status in ('ai', 'waiting_human');

-- The AI's answer while it is being written, readable by every instance (a
-- socket that reconnects mid-answer gets it whole). Gone when the answer is
-- stored or dropped; an unlogged table, since a crash ends the turn anyway.
create unlogged table ai_draft (
    conversation_id uuid primary key references conversation on delete cascade,
    turn_id uuid not null,
    text text not null default '',
    updated_at timestamptz not null default now()
);

-- Who is typing where, until when (`party` is 'visitor' or an account id).
create unlogged table typing (
    conversation_id uuid not null references conversation on delete cascade,
    party text not null,
    name text,
    until timestamptz not null,
    primary key (conversation_id, party)
);

-- How far each party has seen a conversation (read receipts, unread counts).
create table seen (
    conversation_id uuid not null references conversation on delete cascade,
    party text not null,
    seq bigint not null,
    primary key (conversation_id, party)
);

alter table answer_settings add column answer_while_waiting boolean not null default true;

-- Which visitor messages each AI turn dealt with (seqs after `handled_from`
-- up to `handled_upto`). Two turns never deal with the same messages: a turn
-- stores its decision only if nobody handled anything since it started, and
-- the index below refuses a second decision ending at the same message.
alter table decision add column handled_from bigint;
alter table decision add column handled_upto bigint;
create unique index decision_handled_idx on decision (conversation_id, handled_upto)
    where handled_upto is not null;
