//! The generator: built-in, or an OpenAI-compatible endpoint.

use super::*;

#[component]
pub(super) fn GeneratorSection(policy: RwSignal<Policy>) -> impl IntoView {
    let builtin =
        Memo::new(move |_| policy.with(|p| matches!(p.generator, GeneratorSettings::Builtin)));
    // The endpoint's settings, kept while the built-in generator is chosen.
    let endpoint = StoredValue::new(policy.with_untracked(|p| match &p.generator {
        GeneratorSettings::Builtin => GeneratorSettings::OpenAi {
            base_url: "https://api.openai.com/v1".into(),
            model: String::new(),
            api_key: String::new(),
        },
        chosen => chosen.clone(),
    }));
    view! {
        <section class=SECTION aria-labelledby="generator-title">
            <h2 id="generator-title" class=HEADING>"Who writes the answers"</h2>
            <fieldset class="flex flex-col gap-2">
                <legend class="sr-only">"Answer generator"</legend>
                <label class="flex items-start gap-2 text-sm">
                    <input type="radio" name="generator" value="builtin" class="mt-1"
                        prop:checked=move || builtin.get()
                        on:change=move |_| policy.update(|p| {
                            if !matches!(p.generator, GeneratorSettings::Builtin) {
                                endpoint.set_value(std::mem::replace(&mut p.generator, GeneratorSettings::Builtin));
                            }
                        })/>
                    <span>
                        <span class="font-medium">"Built-in"</span>
                        <span class="block text-xs text-slate-500">"Offline and extractive: answers with sentences from your knowledge and cites every sentence."</span>
                    </span>
                </label>
                <label class="flex items-start gap-2 text-sm">
                    <input type="radio" name="generator" value="open_ai" class="mt-1"
                        prop:checked=move || !builtin.get()
                        on:change=move |_| policy.update(|p| {
                            if matches!(p.generator, GeneratorSettings::Builtin) {
                                p.generator = endpoint.get_value();
                            }
                        })/>
                    <span>
                        <span class="font-medium">"OpenAI-compatible endpoint"</span>
                        <span class="block text-xs text-slate-500">"Any chat-completions API, hosted or local (Ollama, vLLM, llama.cpp). It is given the same passages and must cite them."</span>
                    </span>
                </label>
            </fieldset>
            {move || (!builtin.get()).then(|| view! {
                <div class="flex flex-col gap-2">
                    {generator_text(policy, "generator-base-url", "Base URL", "url", "https://api.openai.com/v1", base_url_field)}
                    {generator_text(policy, "generator-model", "Model", "text", "gpt-4o-mini", model_field)}
                    {generator_text(policy, "generator-api-key", "API key", "password", "leave empty to keep the stored key", api_key_field)}
                </div>
            })}
        </section>
    }
}

/// Where a text field sits in the generator settings, if they have it.
type GeneratorField = fn(&mut GeneratorSettings) -> Option<&mut String>;

pub(super) fn base_url_field(generator: &mut GeneratorSettings) -> Option<&mut String> {
    match generator {
        GeneratorSettings::OpenAi { base_url, .. } => Some(base_url),
        GeneratorSettings::Builtin => None,
    }
}

pub(super) fn model_field(generator: &mut GeneratorSettings) -> Option<&mut String> {
    match generator {
        GeneratorSettings::OpenAi { model, .. } => Some(model),
        GeneratorSettings::Builtin => None,
    }
}

pub(super) fn api_key_field(generator: &mut GeneratorSettings) -> Option<&mut String> {
    match generator {
        GeneratorSettings::OpenAi { api_key, .. } => Some(api_key),
        GeneratorSettings::Builtin => None,
    }
}

/// A labelled input bound to one text field of the generator settings.
pub(super) fn generator_text(
    policy: RwSignal<Policy>,
    id: &'static str,
    label: &'static str,
    input_type: &'static str,
    placeholder: &'static str,
    field: GeneratorField,
) -> impl IntoView {
    let value = move || {
        policy.with(|p| {
            let mut generator = p.generator.clone();
            field(&mut generator)
                .map(std::mem::take)
                .unwrap_or_default()
        })
    };
    view! {
        <div class="flex flex-col gap-1">
            <label for=id class=LABEL>{label}</label>
            <input id=id type=input_type class=INPUT placeholder=placeholder autocomplete="off"
                prop:value=value
                on:input=move |ev| {
                    let typed = event_target_value(&ev);
                    policy.update(|p| {
                        if let Some(text) = field(&mut p.generator) {
                            *text = typed;
                        }
                    });
                }/>
        </div>
    }
}
