-- The last visitor message the AI's turn has dealt with (answered, handed
-- off, or dropped because a person took over): pending = messages after it.
alter table conversation add column ai_handled_seq bigint not null default 0;
