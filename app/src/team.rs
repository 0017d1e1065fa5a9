//! The team page (`/admin/team`, admins only): members (role, teams,
//! assignment cap, presence), invitations, teams, canned replies and the
//! inbox's settings (reopening, automatic assignment, maximum wait,
//! reminders).

mod api;

pub use api::*;

use leptos::prelude::*;
use uuid::Uuid;

use crate::confirm::ConfirmDelete;
use crate::error::DeskError;
use crate::knowledge::{AdminOnly, BUTTON, INPUT, SMALL_BUTTON};
use crate::types::inbox::{
    CannedReply, InboxSettings, Invitation, Invited, Member, Presence, TeamAdmin,
};
use crate::types::Role;

const SECTION: &str = "flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-4";
const HEADING: &str = "text-lg font-semibold";
const HELP: &str = "text-xs text-slate-500";

#[component]
pub fn TeamPage() -> impl IntoView {
    view! { <AdminOnly section="team"><Team/></AdminOnly> }
}

/// A presence dot with its word.
#[component]
pub fn PresenceDot(presence: Presence) -> impl IntoView {
    let colour = match presence {
        Presence::Online => "bg-emerald-500",
        Presence::Away => "bg-amber-400",
        Presence::Offline => "bg-slate-300",
    };
    view! {
        <span class="presence inline-flex items-center gap-1 text-xs text-slate-500" data-presence=presence.label()>
            <span class=format!("inline-block h-2 w-2 rounded-full {colour}")></span>
            {presence.label()}
        </span>
    }
}

#[component]
fn Team() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let loaded = Resource::new(move || version.get(), |_| get_team_admin());
    let error = RwSignal::new(None::<String>);
    // What outlives a reload of the page's data: the last invitation (its
    // link, or to whom it was emailed), the settings' "Saved", a canned
    // reply being written.
    let link = RwSignal::new(None::<(String, Invited)>);
    let saved = RwSignal::new(false);
    let draft = CannedDraft {
        id: RwSignal::new(None),
        shortcut: RwSignal::new(String::new()),
        body: RwSignal::new(String::new()),
    };
    let done = move |result: Result<(), DeskError>| match result {
        Ok(()) => {
            error.set(None);
            version.update(|v| *v += 1);
        }
        Err(e) => error.set(Some(e.to_string())),
    };
    view! {
        <main class="mx-auto flex w-full max-w-5xl flex-col gap-4 p-6">
            <h1 class="text-2xl font-semibold">"Team"</h1>
            {move || error.get().map(|e| view! { <p class="rounded bg-red-50 px-3 py-2 text-sm text-red-800" role="alert">{e}</p> })}
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok(admin) => view! { <TeamSections admin=admin done=done link=link saved=saved draft=draft/> }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn TeamSections(
    admin: TeamAdmin,
    done: impl Fn(Result<(), DeskError>) + Copy + Send + Sync + 'static,
    link: RwSignal<Option<(String, Invited)>>,
    saved: RwSignal<bool>,
    draft: CannedDraft,
) -> impl IntoView {
    let by_email = admin.email_invitations;
    let TeamAdmin {
        directory,
        invitations,
        settings,
        ..
    } = admin;
    view! {
        <MembersSection members=directory.members teams=directory.teams.clone() invitations=invitations
            by_email=by_email done=done link=link/>
        <TeamsSection teams=directory.teams done=done/>
        <CannedSection canned=directory.canned draft=draft done=done/>
        <SettingsSection settings=settings by_email=by_email saved=saved done=done/>
    }
}

/// The members, inviting someone, and the invitations still pending.
#[component]
fn MembersSection(
    members: Vec<Member>,
    teams: Vec<String>,
    invitations: Vec<Invitation>,
    by_email: bool,
    done: impl Fn(Result<(), DeskError>) + Copy + Send + Sync + 'static,
    link: RwSignal<Option<(String, Invited)>>,
) -> impl IntoView {
    let invite_email = RwSignal::new(String::new());
    let invite_role = RwSignal::new("agent".to_owned());
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (email, role) = (invite_email.get_untracked(), invite_role.get_untracked());
        leptos::task::spawn_local(async move {
            match invite_member(email.trim().to_owned(), role).await {
                Ok(invited) => {
                    let origin = window().location().origin().unwrap_or_default();
                    link.set(Some((
                        email.trim().to_owned(),
                        match invited {
                            Invited::Link(path) => Invited::Link(format!("{origin}{path}")),
                            emailed => emailed,
                        },
                    )));
                    invite_email.set(String::new());
                    done(Ok(()));
                }
                Err(e) => done(Err(e)),
            }
        });
    };
    view! {
        <section class=SECTION aria-label="Members">
            <h2 class=HEADING>"Members"</h2>
            <p class=HELP>"Admins manage knowledge, the policy, the widget and the team; agents work the inbox. The cap limits how many open conversations automatic assignment gives someone."</p>
            // On a phone the table scrolls on its own, not the page.
            <div class="-mx-1 overflow-x-auto px-1">
            <table class="w-full min-w-[32rem] text-left text-sm">
                <thead class="text-xs text-slate-500">
                    <tr><th class="py-1">"Name"</th><th>"Role"</th><th>"Teams"</th><th>"Cap"</th><th>"Assigned"</th><th></th></tr>
                </thead>
                <tbody>
                    {members.into_iter().map(|m| view! { <MemberRow member=m teams=teams.clone() done=done/> }).collect::<Vec<_>>()}
                </tbody>
            </table>
            </div>
            <form class="invite mt-2 flex flex-wrap items-end gap-2" on:submit=invite>
                <label class="flex flex-col gap-1 text-sm">"Invite by email"
                    <input type="email" required class=INPUT name="invite-email" placeholder="sam@example.com"
                        prop:value=move || invite_email.get() on:input=move |ev| invite_email.set(event_target_value(&ev))/>
                </label>
                <label class="flex flex-col gap-1 text-sm">"Role"
                    <select class=INPUT name="invite-role" on:change=move |ev| invite_role.set(event_target_value(&ev))>
                        <option value="agent" selected>"agent"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <button type="submit" class=format!("{BUTTON} shrink-0 whitespace-nowrap")>
                    {if by_email { "Send invitation" } else { "Create invitation link" }}
                </button>
            </form>
            {(!by_email).then(|| view! {
                <p class=HELP>"Email is not set up (TANDEM_SMTP_URL), so you pass the link on yourself. Nobody confirms the address then: if email is set up later, an invitation emailed to that address lets whoever reads it choose the account's password."</p>
            })}
            {move || link.get().map(|(to, invited)| match invited {
                Invited::Link(l) => {
                    let copied = RwSignal::new(false);
                    let text = l.clone();
                    view! {
                        <div class="invite-link flex flex-wrap items-center gap-2 rounded bg-emerald-50 p-2 text-sm text-emerald-900" role="status">
                            <span>"Send "{to}" this link (it works for 7 days, once; it is not shown again): "</span>
                            <code class="break-all select-all">{l}</code>
                            <button type="button" class=SMALL_BUTTON on:click=move |_| {
                                crate::setup::copy_to_clipboard(text.clone(), move |ok| copied.set(ok));
                            }>{move || if copied.get() { "Copied" } else { "Copy the link" }}</button>
                        </div>
                    }.into_any()
                }
                Invited::Emailed(to) => view! {
                    <p class="invite-sent rounded bg-emerald-50 p-2 text-sm text-emerald-900" role="status">"Invitation emailed to "{to}". The link in it works for 7 days."</p>
                }.into_any(),
            })}
            {(!invitations.is_empty()).then(|| view! {
                <div>
                    <h3 class="text-sm font-semibold">"Pending invitations"</h3>
                    <ul class="flex flex-col gap-1 text-sm text-slate-600">
                        {invitations.into_iter().map(|i| {
                            let id = i.invitation_id;
                            let question = format!("Revoke the invitation for {}?", i.email);
                            let email = i.email.clone();
                            view! {
                                <li class="pending-invitation flex flex-wrap items-center gap-2" data-email=email>
                                    <span class="break-all">{i.email}</span>
                                    <span>{i.role.as_str()}</span>
                                    <span>{if i.emailed { "emailed" } else { "link" }}</span>
                                    <span>"expires "{i.expires_at.format("%Y-%m-%d").to_string()}</span>
                                    <ConfirmDelete class=SMALL_BUTTON.to_owned() label="Revoke" yes="Yes, revoke"
                                        question=question
                                        on_confirm=Callback::new(move |()| {
                                            leptos::task::spawn_local(async move { done(revoke_invitation(id).await) });
                                        })/>
                                </li>
                            }
                        }).collect::<Vec<_>>()}
                    </ul>
                </div>
            })}
        </section>
    }
}

/// The workspace's teams: listed, deleted, added.
#[component]
fn TeamsSection(
    teams: Vec<String>,
    done: impl Fn(Result<(), DeskError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let new_team = RwSignal::new(String::new());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_team.get_untracked();
        leptos::task::spawn_local(async move {
            let result = add_team(name).await;
            if result.is_ok() {
                new_team.set(String::new());
            }
            done(result);
        });
    };
    view! {
        <section class=SECTION aria-label="Teams">
            <h2 class=HEADING>"Teams"</h2>
            <p class=HELP>"A handoff rule can route a conversation to a team; agents can assign to one. Automatic assignment picks among the team's members."</p>
            <ul class="flex flex-wrap gap-2">
                {teams.into_iter().map(|t| {
                    let name = t.clone();
                    view! {
                        <li class="team flex items-center gap-1 rounded-full bg-slate-100 px-3 py-1 text-sm">
                            {t}
                            <button type="button" class="text-slate-400 hover:text-red-700" aria-label=format!("Delete team {name}")
                                on:click=move |_| { let name = name.clone(); leptos::task::spawn_local(async move { done(delete_team(name).await) }); }>"×"</button>
                        </li>
                    }
                }).collect::<Vec<_>>()}
            </ul>
            <form class="flex gap-2" on:submit=add>
                <input type="text" required maxlength="60" class=INPUT placeholder="New team, e.g. Billing" aria-label="New team"
                    prop:value=move || new_team.get() on:input=move |ev| new_team.set(event_target_value(&ev))/>
                <button type="submit" class=format!("{BUTTON} shrink-0 whitespace-nowrap")>"Add team"</button>
            </form>
        </section>
    }
}

/// Canned replies: listed, edited, deleted, added.
#[component]
fn CannedSection(
    canned: Vec<CannedReply>,
    draft: CannedDraft,
    done: impl Fn(Result<(), DeskError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let CannedDraft {
        id: canned_id,
        shortcut: canned_shortcut,
        body: canned_body,
    } = draft;
    let save_reply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (id, shortcut, body) = (
            canned_id.get_untracked(),
            canned_shortcut.get_untracked(),
            canned_body.get_untracked(),
        );
        leptos::task::spawn_local(async move {
            let result = save_canned(id, shortcut, body).await.map(drop);
            if result.is_ok() {
                canned_id.set(None);
                canned_shortcut.set(String::new());
                canned_body.set(String::new());
            }
            done(result);
        });
    };
    view! {
        <section class=SECTION aria-label="Canned replies">
            <h2 class=HEADING>"Canned replies"</h2>
            <p class=HELP>"In the composer, type / and the shortcut (or press Ctrl+/) to insert one; it stays editable before sending."</p>
            <ul class="flex flex-col gap-2">
                {canned.into_iter().map(|c| {
                    let (id, shortcut, body) = (c.canned_id, c.shortcut.clone(), c.body.clone());
                    let question = format!("Delete /{}?", c.shortcut);
                    view! {
                        <li class="canned flex items-start justify-between gap-3 rounded border border-slate-100 p-2 text-sm">
                            <div class="min-w-0">
                                <code class="font-semibold">"/"{c.shortcut}</code>
                                <p class="whitespace-pre-wrap text-slate-700">{c.body}</p>
                            </div>
                            <div class="flex shrink-0 gap-1">
                                <button type="button" class=SMALL_BUTTON on:click=move |_| {
                                    canned_id.set(Some(id));
                                    canned_shortcut.set(shortcut.clone());
                                    canned_body.set(body.clone());
                                }>"Edit"</button>
                                <ConfirmDelete class=SMALL_BUTTON.to_owned()
                                    question=question
                                    on_confirm=Callback::new(move |()| {
                                        leptos::task::spawn_local(async move { done(delete_canned(id).await) });
                                    })/>
                            </div>
                        </li>
                    }
                }).collect::<Vec<_>>()}
            </ul>
            <form class="canned-form flex flex-col gap-2" on:submit=save_reply>
                <div class="flex gap-2">
                    <label class="flex w-48 flex-col gap-1 text-sm">"Shortcut"
                        <input type="text" required maxlength="40" pattern="[a-z0-9][a-z0-9\\-]*" class=INPUT name="shortcut" placeholder="refund-time"
                            prop:value=move || canned_shortcut.get() on:input=move |ev| canned_shortcut.set(event_target_value(&ev))/>
                    </label>
                    <label class="flex flex-1 flex-col gap-1 text-sm">"Reply (Markdown)"
                        <textarea required rows="2" maxlength="4000" class=INPUT name="canned-body"
                            prop:value=move || canned_body.get() on:input=move |ev| canned_body.set(event_target_value(&ev))></textarea>
                    </label>
                </div>
                <div class="flex gap-2">
                    <button type="submit" class=BUTTON>{move || if canned_id.get().is_some() { "Save canned reply" } else { "Add canned reply" }}</button>
                    <Show when=move || canned_id.get().is_some()>
                        <button type="button" class=SMALL_BUTTON on:click=move |_| { canned_id.set(None); canned_shortcut.set(String::new()); canned_body.set(String::new()); }>"Cancel"</button>
                    </Show>
                </div>
            </form>
        </section>
    }
}

/// The inbox's settings: assignment, reopening, waits and reminders.
#[component]
fn SettingsSection(
    settings: InboxSettings,
    by_email: bool,
    saved: RwSignal<bool>,
    done: impl Fn(Result<(), DeskError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let settings = RwSignal::new(settings);
    let save_settings = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let now = settings.get_untracked();
        leptos::task::spawn_local(async move {
            let result = save_inbox_settings(now).await;
            saved.set(result.is_ok());
            done(result);
        });
    };
    view! {
        <section class=SECTION aria-label="Inbox settings">
            <h2 class=HEADING>"Inbox settings"</h2>
            <form class="inbox-settings flex flex-col gap-3 text-sm" on:submit=save_settings>
                <label class="flex items-center gap-2">
                    <input type="checkbox" name="auto_assign" prop:checked=move || settings.with(|s| s.auto_assign)
                        on:change=move |ev| settings.update(|s| s.auto_assign = event_target_checked(&ev))/>
                    "Assign escalations automatically (round-robin among online agents of the conversation's team, within their caps)"
                </label>
                <label class="flex items-center gap-2">
                    <input type="checkbox" name="reopen_to_ai" prop:checked=move || settings.with(|s| s.reopen_to_ai)
                        on:change=move |ev| settings.update(|s| s.reopen_to_ai = event_target_checked(&ev))/>
                    "A resolved conversation the visitor writes to again goes back to the AI (otherwise: to the queue)"
                </label>
                <label class="flex items-center gap-2">
                    "Tell a waiting visitor nobody is free after"
                    <input type="number" min="1" max="1440" class="w-20 rounded border border-slate-300 px-2 py-1" name="max_wait"
                        prop:value=move || settings.with(|s| s.max_wait_minutes.to_string())
                        on:input=move |ev| if let Ok(n) = event_target_value(&ev).parse() { settings.update(|s| s.max_wait_minutes = n) }/>
                    "minutes (and offer email follow-up)"
                </label>
                <label class="flex items-center gap-2">
                    "Email the assigned agent when a visitor's message waits"
                    <input type="number" min="1" max="1440" class="w-20 rounded border border-slate-300 px-2 py-1" name="remind_after"
                        prop:value=move || settings.with(|s| s.remind_after_minutes.to_string())
                        on:input=move |ev| if let Ok(n) = event_target_value(&ev).parse() { settings.update(|s| s.remind_after_minutes = n) }/>
                    "minutes"
                </label>
                {(!by_email).then(|| view! {
                    <p class=HELP>"Reminders and follow-ups go by email, which is not set up here (TANDEM_SMTP_URL)."</p>
                })}
                <div class="flex items-center gap-3">
                    <button type="submit" class=BUTTON>"Save settings"</button>
                    <Show when=move || saved.get()><span class="text-emerald-700" role="status">"Saved"</span></Show>
                </div>
            </form>
        </section>
    }
}

/// A canned reply being written or edited on the page.
#[derive(Clone, Copy)]
struct CannedDraft {
    id: RwSignal<Option<Uuid>>,
    shortcut: RwSignal<String>,
    body: RwSignal<String>,
}

#[component]
fn MemberRow(
    member: Member,
    teams: Vec<String>,
    done: impl Fn(Result<(), DeskError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = member.account_id;
    let role = RwSignal::new(member.role.as_str().to_owned());
    let mine = RwSignal::new(member.teams.clone());
    let cap = RwSignal::new(member.max_open.map(|c| c.to_string()).unwrap_or_default());
    let saved = (
        member.role.as_str().to_owned(),
        member.teams.clone(),
        member.max_open.map(|c| c.to_string()).unwrap_or_default(),
    );
    let save = move |_| {
        let (new_role, teams) = (role.get_untracked(), mine.get_untracked());
        let max_open = cap.get_untracked().trim().parse().ok();
        let saved = saved.clone();
        leptos::task::spawn_local(async move {
            let result = save_member(id, new_role, teams, max_open).await;
            // Refused: the row shows what is stored again, not the refused
            // choice.
            if result.is_err() {
                role.set(saved.0);
                mine.set(saved.1);
                cap.set(saved.2);
            }
            done(result);
        });
    };
    let remove = move |_| {
        leptos::task::spawn_local(async move { done(remove_member(id).await) });
    };
    let email_attr = member.email.clone();
    let name = member.name.clone();
    view! {
        <tr class="member border-t border-slate-100" data-email=email_attr>
            <td class="py-2">
                <div class="font-medium">{member.name}</div>
                <div class="text-xs text-slate-500">{member.email}</div>
                <PresenceDot presence=member.presence/>
            </td>
            <td>
                <select class="rounded border border-slate-300 px-1 py-1 text-sm" aria-label=format!("Role of {name}")
                    prop:value=move || role.get()
                    on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="agent" selected=member.role == Role::Agent>"agent"</option>
                    <option value="admin" selected=member.role == Role::Admin>"admin"</option>
                </select>
            </td>
            <td>
                <div class="flex flex-wrap gap-2">
                    {teams.into_iter().map(|t| {
                        let name = t.clone();
                        let checked = member.teams.contains(&t);
                        view! {
                            <label class="flex items-center gap-1 text-xs">
                                <input type="checkbox" checked=checked on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let name = name.clone();
                                    mine.update(|m| { m.retain(|x| *x != name); if on { m.push(name); } });
                                }/>
                                {t}
                            </label>
                        }
                    }).collect::<Vec<_>>()}
                </div>
            </td>
            <td>
                <input type="number" min="1" max="500" placeholder="none" aria-label=format!("Cap of {name}")
                    class="w-20 rounded border border-slate-300 px-2 py-1 text-sm"
                    prop:value=move || cap.get() on:input=move |ev| cap.set(event_target_value(&ev))/>
            </td>
            <td class="tabular-nums">{member.assigned}</td>
            <td class="whitespace-nowrap text-right">
                <button type="button" class=SMALL_BUTTON aria-label=format!("Save {name}") on:click=save>"Save"</button>
                " "
                <button type="button" class=SMALL_BUTTON aria-label=format!("Remove {name}") on:click=remove>"Remove"</button>
            </td>
        </tr>
    }
}
