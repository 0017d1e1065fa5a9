-- What happens when the AI is unsure: hand off at once (as before), or say
-- so and offer the team while the visitor may rephrase (`ai_unsure` event).
alter table answer_settings add column unsure text not null default 'hand_off'
    check (unsure in ('hand_off', 'offer'));
alter table event drop constraint event_kind_check;
alter table event add constraint event_kind_check
    check (kind in ('visitor_message', 'ai_answer', 'human_reply', 'note', 'status_change',
                    'email_left', 'assigned', 'wait_notice', 'ai_unsure'));
