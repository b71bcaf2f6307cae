use leptos::prelude::*;

/// A server-side validation message under a form field.
#[component]
pub fn FieldMessage(message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|m| view! { <span class="mt-1 block text-sm text-red-700" data-testid="field-error">{m}</span> })
    }
}

/// The error of a form that was posted without the wasm: the server function sent the browser
/// back here with the error in the address (`__err`), and this shows which kind of error it
/// was, in one of Herald's own sentences (anyone can write such an address).
#[component]
pub fn FormError() -> impl IntoView {
    use leptos::server_fn::error::ServerFnUrlError;
    let error = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("__err"));
    error.map(|encoded| {
        let err = ServerFnUrlError::<crate::error::AppError>::decode_err(&encoded);
        view! { <super::alert::ErrorAlert message=err.message_from_link() /> }
    })
}

/// A `<textarea>` pre-filled with `text`, safely. Leptos 0.8 writes a textarea's children into
/// the server's HTML unescaped (it treats textarea like `<script>` and `<style>`, whose
/// content is raw text), so a value holding `</textarea>` would end the element there and put
/// the rest of the value into the page as markup. Here the text is escaped and given as the
/// element's inner HTML, which Leptos writes as it is and the browser decodes back to the text.
/// Never put a value inside `<textarea>`, `<script>`, `<style>` or `<noscript>` any other way
/// (a test in this module checks the pages for it).
#[component]
pub fn TextArea(
    name: &'static str,
    label: &'static str,
    text: String,
    #[prop(optional)] placeholder: &'static str,
    #[prop(default = 3)] rows: u32,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    view! {
        <textarea name=name rows=rows placeholder=placeholder aria-label=label class=class inner_html=escape_text(&text)></textarea>
    }
}

/// Text as HTML character data: `&`, `<` and `>` escaped (quotes need no escaping there).
pub fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn a_textarea_value_cannot_end_the_element() {
        let value = "X-Note: </textarea><svg onload=alert(1)>&amp;".to_string();
        let html = Owner::new()
            .with(|| view! { <TextArea name="h" label="Headers" text=value /> }.to_html());
        assert!(!html.contains("<svg"), "{html}");
        assert!(
            html.contains("&lt;/textarea&gt;&lt;svg onload=alert(1)&gt;&amp;amp;"),
            "{html}"
        );
    }

    /// Elements whose content Leptos 0.8 does not escape: a value must never be their child.
    #[test]
    fn pages_use_no_raw_text_element_directly() {
        let mut offenders = Vec::new();
        visit(std::path::Path::new("src/ui"), &mut offenders);
        assert!(
            offenders.is_empty(),
            "use TextArea (or no such element): {offenders:?}"
        );
    }

    fn visit(dir: &std::path::Path, offenders: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit(&path, offenders);
                continue;
            }
            if path.ends_with("components/form.rs") {
                continue; // TextArea itself
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for tag in ["<textarea", "<script", "<style", "<noscript"] {
                if text.contains(tag) {
                    offenders.push(format!("{} uses {tag}", path.display()));
                }
            }
        }
    }
}
