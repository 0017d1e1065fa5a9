//! Sensitive categories: each one's phrases, examples and team.

use super::*;

/// `billing dispute` or `Billing-Dispute` as the snake_case name it stands for.
pub(super) fn category_name(typed: &str) -> String {
    typed
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Why `name` cannot be a new category, if it cannot (the server's rules).
pub(super) fn check_category_name(
    name: &str,
    existing: &[SensitiveCategory],
) -> Result<(), String> {
    if name.is_empty() {
        return Err("Name the category first, e.g. billing_dispute.".into());
    }
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err("Use lowercase letters, digits and _, starting with a letter.".into());
    }
    if existing.iter().any(|c| c.name == name) {
        return Err(format!("There is already a category named {name}."));
    }
    Ok(())
}

#[component]
pub(super) fn CategoriesSection(policy: RwSignal<Policy>) -> impl IntoView {
    let count = Memo::new(move |_| policy.with(|p| p.categories.len()));
    let new_name = RwSignal::new(String::new());
    let add_error = RwSignal::new(None::<String>);
    let add = move || {
        let name = category_name(&new_name.get_untracked());
        if let Err(err) = policy.with_untracked(|p| check_category_name(&name, &p.categories)) {
            add_error.set(Some(err));
            return;
        }
        policy.update(|p| {
            p.categories.push(SensitiveCategory {
                name,
                enabled: true,
                phrases: Vec::new(),
                examples: Vec::new(),
            });
        });
        new_name.set(String::new());
        add_error.set(None);
    };
    view! {
        <section class=SECTION aria-labelledby="categories-title">
            <h2 id="categories-title" class=HEADING>"Sensitive topics"</h2>
            <p class=HELP>"A message about an enabled topic goes to a person. Tandem knows the topics below from built-in examples in many languages; your examples (any language) teach it your visitors' wording, and your phrases always count."</p>
            <ul class="flex flex-col gap-3" aria-label="Sensitive categories">
                <For each=move || 0..count.get() key=|i| *i children=move |i| view! { <CategoryCard policy=policy index=i/> }/>
            </ul>
            <form class="flex flex-col gap-1" on:submit=move |ev| { ev.prevent_default(); add(); }>
                <label for="new-category" class=LABEL>"New category"</label>
                <div class="flex gap-2">
                    <input id="new-category" class=INLINE_INPUT placeholder="billing_dispute"
                        prop:value=move || new_name.get()
                        on:input=move |ev| new_name.set(event_target_value(&ev))/>
                    <button type="submit" class=SMALL_BUTTON>"Add category"</button>
                </div>
                {move || add_error.get().map(|err| view! { <p role="alert" class="text-sm text-red-700">{err}</p> })}
            </form>
        </section>
    }
}

#[component]
pub(super) fn CategoryCard(policy: RwSignal<Policy>, index: usize) -> impl IntoView {
    let name = Memo::new(move |_| read_category(policy, index, |c| c.name.replace('_', " ")));
    // Memos, so a keystroke that leaves the list as it was (a new line, a
    // trailing space) does not rewrite the textarea under the cursor.
    let examples = Memo::new(move |_| read_category(policy, index, |c| c.examples.join("\n")));
    let phrases_id = format!("category-{index}-phrases");
    let examples_id = format!("category-{index}-examples");
    view! {
        <li class="category rounded border border-slate-200 p-3">
            <div class="flex items-center justify-between gap-2">
                <label class="flex items-center gap-2 font-medium">
                    <input type="checkbox"
                        prop:checked=move || read_category(policy, index, |c| c.enabled)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            edit_category(policy, index, move |c| c.enabled = on);
                        }/>
                    <span class="category-name">{move || name.get()}</span>
                </label>
                <button type="button" class=format!("{SMALL_BUTTON} text-red-700")
                    on:click=move |_| policy.update(|p| {
                        if index < p.categories.len() {
                            p.categories.remove(index);
                        }
                    })>
                    "Remove"
                </button>
            </div>
            <div class="mt-2 grid gap-3 md:grid-cols-2">
                <PhraseFields id=phrases_id
                    phrases=Signal::derive(move || read_category(policy, index, |c| c.phrases.clone()))
                    set=Callback::new(move |typed: Vec<String>| edit_category(policy, index, move |c| c.phrases = typed))/>
                <div class="flex flex-col gap-1">
                    <label for=examples_id.clone() class="text-xs font-medium">"Example messages, one per line"</label>
                    <textarea id=examples_id class=INPUT rows="4"
                        prop:value=move || examples.get()
                        on:input=move |ev| {
                            let typed = lines(&event_target_value(&ev));
                            edit_category(policy, index, move |c| c.examples = typed);
                        }></textarea>
                    <p class=HELP>"A message close in meaning to one of these counts too."</p>
                </div>
            </div>
        </li>
    }
}
