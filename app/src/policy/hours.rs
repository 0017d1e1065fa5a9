//! Support hours: the week, holidays and the time zone.

use super::*;

pub(super) const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
pub(super) const OPENS: &str = "09:00";
pub(super) const CLOSES: &str = "17:00";

/// Weekdays 09:00–17:00, UTC: where a new schedule starts.
pub(super) fn default_hours() -> SupportHours {
    let weekday = || Some((OPENS.to_owned(), CLOSES.to_owned()));
    SupportHours {
        time_zone: "UTC".into(),
        days: [
            weekday(),
            weekday(),
            weekday(),
            weekday(),
            weekday(),
            None,
            None,
        ],
        holidays: Vec::new(),
    }
}

#[component]
pub(super) fn HoursSection(policy: RwSignal<Policy>) -> impl IntoView {
    let enabled = Memo::new(move |_| policy.with(|p| p.support_hours.is_some()));
    // The schedule, kept while support hours are switched off.
    let kept = StoredValue::new(
        policy
            .with_untracked(|p| p.support_hours.clone())
            .unwrap_or_else(default_hours),
    );
    view! {
        <section class=SECTION aria-labelledby="hours-title">
            <h2 id="hours-title" class=HEADING>"Support hours "<span class="text-sm font-normal text-slate-500">"(optional)"</span></h2>
            <p class=HELP>"When the team answers. A rule can use the “Outside support hours” condition."</p>
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox"
                    prop:checked=move || enabled.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        policy.update(|p| {
                            if on {
                                if p.support_hours.is_none() {
                                    p.support_hours = Some(kept.get_value());
                                }
                            } else if let Some(hours) = p.support_hours.take() {
                                kept.set_value(hours);
                            }
                        });
                    }/>
                "Set support hours"
            </label>
            {move || enabled.get().then(|| view! { <HoursFields policy=policy/> })}
        </section>
    }
}

#[component]
pub(super) fn HoursFields(policy: RwSignal<Policy>) -> impl IntoView {
    view! {
        <div class="flex flex-col gap-1">
            <label for="time-zone" class=LABEL>"Time zone"</label>
            <input id="time-zone" class=INPUT placeholder="Europe/Berlin"
                prop:value=move || policy.with(|p| p.support_hours.as_ref().map(|h| h.time_zone.clone()).unwrap_or_default())
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    edit_hours(policy, move |h| h.time_zone = typed);
                }/>
        </div>
        <ul class="flex flex-col gap-1" aria-label="Opening hours">
            {(0..DAYS.len()).map(|day| view! { <DayRow policy=policy day=day/> }).collect::<Vec<_>>()}
        </ul>
        <HolidayField policy=policy/>
    }
}

/// Whole days the team is closed, one `YYYY-MM-DD` per line.
#[component]
pub(super) fn HolidayField(policy: RwSignal<Policy>) -> impl IntoView {
    let text = RwSignal::new(policy.with_untracked(|p| {
        p.support_hours
            .as_ref()
            .map(|h| {
                h.holidays
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }));
    let unreadable = Memo::new(move |_| {
        text.with(|t| {
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && l.parse::<chrono::NaiveDate>().is_err())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="flex flex-col gap-1">
            <label for="holidays" class=LABEL>"Holidays (closed all day; one date per line, like 2026-12-24)"</label>
            <textarea id="holidays" rows="3" class=INPUT
                prop:value=move || text.get()
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    let mut days: Vec<chrono::NaiveDate> =
                        typed.lines().filter_map(|l| l.trim().parse().ok()).collect();
                    days.sort();
                    days.dedup();
                    text.set(typed);
                    edit_hours(policy, move |h| h.holidays = days);
                }></textarea>
            {move || (!unreadable.with(Vec::is_empty)).then(|| view! {
                <p class="text-sm text-red-700" role="alert">
                    {move || format!("Not a date (ignored): {}", unreadable.get().join(", "))}
                </p>
            })}
        </div>
    }
}

#[component]
pub(super) fn DayRow(policy: RwSignal<Policy>, day: usize) -> impl IntoView {
    let name = DAYS[day];
    let hours = Memo::new(move |_| {
        policy.with(|p| {
            p.support_hours
                .as_ref()
                .and_then(|h| h.days.get(day).cloned().flatten())
        })
    });
    let open = move || hours.with(Option::is_some);
    let opens = move || hours.with(|h| h.as_ref().map_or(OPENS.to_owned(), |(o, _)| o.clone()));
    let closes = move || hours.with(|h| h.as_ref().map_or(CLOSES.to_owned(), |(_, c)| c.clone()));
    let set_time = move |closing: bool, typed: String| {
        edit_hours(policy, move |h| {
            if let Some(Some((open_at, close_at))) = h.days.get_mut(day) {
                if closing {
                    *close_at = typed;
                } else {
                    *open_at = typed;
                }
            }
        });
    };
    view! {
        <li class="day flex flex-wrap items-center gap-3 text-sm">
            <span class="w-24 font-medium">{name}</span>
            <label class="flex items-center gap-1">
                <input type="checkbox"
                    prop:checked=open
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        edit_hours(policy, move |h| {
                            if let Some(slot) = h.days.get_mut(day) {
                                *slot = on.then(|| (OPENS.to_owned(), CLOSES.to_owned()));
                            }
                        });
                    }/>
                "open"
            </label>
            <input type="time" class=SELECT aria-label=format!("{name} opens")
                disabled=move || !open()
                prop:value=opens
                on:input=move |ev| set_time(false, event_target_value(&ev))/>
            <span aria-hidden="true">"–"</span>
            <input type="time" class=SELECT aria-label=format!("{name} closes")
                disabled=move || !open()
                prop:value=closes
                on:input=move |ev| set_time(true, event_target_value(&ev))/>
        </li>
    }
}
