-- Invitations sent by email, revocable by their id, and accounts whose
-- email nobody has confirmed.
alter table invitation
    -- What the team page names an invitation by (to revoke it); the token
    -- stays the invitee's alone.
    add column invitation_id uuid not null default gen_random_uuid(),
    -- Sent to the invitee by email: the admin never saw the link.
    add column emailed boolean not null default false;
create unique index invitation_id_key on invitation (invitation_id);

-- False for an account made from an invitation link an admin handed over
-- (no email set up): nobody proved the address is its owner's. An emailed
-- invitation to that address lets whoever receives it set the account's
-- password; an emailed acceptance confirms it. Accounts made at setup, by
-- `tandem setup` or for the demo are their owner's own.
alter table account add column email_verified boolean not null default true;
