//! The catalog as one self-contained HTML page: inline CSS, inline SVG icons and a small inline
//! script, and a Content-Security-Policy that lets the browser load nothing else. The page is
//! complete without the script: every version of every card is written out, and the script
//! only adds the version drop-down and the filter. Every value from a definition or the state
//! is HTML-escaped, with control characters replaced and direction controls (U+202A–U+202E,
//! U+2066–U+2069, U+200E/F, U+061C) written out visibly; only `http`/`https` URLs become links.
//! The cards the console lists come first; the others follow under "Not in the developer
//! catalog", each with its reason. Output depends on the catalog alone.

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

use super::{Card, Catalog, Current, Failure, Live, Version, icons};

/// The policy the page carries: inline style, the page's one script by its hash, `data:`
/// images; no base URL, no form submission, nothing else.
pub static CSP: LazyLock<String> = LazyLock::new(|| {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SCRIPT));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; \
         img-src data:; base-uri 'none'; form-action 'none'"
    )
});

static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s<>"'`]+"#).expect("valid regex"));

/// Escape text for an HTML text node or a quoted attribute. Control characters, which no
/// definition means to show, become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            // Direction controls would reorder what the reader sees: shown as what they are.
            '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{61c}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Text with its `http(s)://` URLs as links; everything else escaped. Trailing sentence
/// punctuation stays outside the link (`see https://x/README.md.`).
pub fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut last = 0;
    for m in URL.find_iter(text) {
        let url = m
            .as_str()
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
        escape_into(&mut out, &text[last..m.start()]);
        link_into(&mut out, url, url);
        last = m.start() + url.len();
    }
    escape_into(&mut out, &text[last..]);
    out
}

fn link_into(out: &mut String, href: &str, label: &str) {
    out.push_str("<a href=\"");
    escape_into(out, href);
    out.push_str("\">");
    escape_into(out, label);
    out.push_str("</a>");
}

/// A URL as a link when it is `http(s)`, else as text.
fn url_or_text(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    if (lower.starts_with("https://") || lower.starts_with("http://"))
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        let mut out = String::new();
        link_into(&mut out, value, value);
        out
    } else {
        format!("<code>{}</code>", escape(value))
    }
}

/// `1.2 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `sha256:0123456789ab` (the algorithm and the first 12 hex digits).
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", hex.get(..12).unwrap_or(hex)),
        None => digest.get(..19).unwrap_or(digest).to_owned(),
    }
}

/// An RFC 3339 time as `2026-11-20 10:00 UTC`; anything else as text.
fn time(value: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => escape(value),
    }
}

/// Render the page.
pub fn render(catalog: &Catalog) -> String {
    let mut out = String::with_capacity(4096 + catalog.cards.len() * 3072);
    let versions: usize = catalog.cards.iter().map(|c| c.versions.len()).sum();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"generator\" content=\"streamsync catalog\">\n\
         <title>Developer catalog preview</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         {}\n<header>\n<h1>Developer catalog preview</h1>\n\
         <p class=\"summary\">{} from {}, {}. \
         This is what OpenShift's developer catalog lists for these image streams, by the \
         console's rules: streams of the <code>openshift</code> namespace with a tag marked \
         <code>builder</code> (and not <code>hidden</code>) that has a status tag; the \
         highest version is the default. The other builder streams follow, under \
         &ldquo;Not in the developer catalog&rdquo;.</p>\n\
         </header>\n<main>\n",
        *CSP,
        sprite(catalog),
        plural(catalog.cards.len(), "card", "cards"),
        escape(&catalog.source),
        if catalog.applied {
            format!(
                "with the live state as of {}",
                catalog.now.format("%Y-%m-%d %H:%M UTC")
            )
        } else {
            "with no live state yet (nothing applied)".to_owned()
        },
    );
    out.push_str(
        "<form class=\"filter\" role=\"search\" id=\"filter\" hidden>\n\
         <div><label for=\"q\">Filter by name, language or category</label>\n\
         <input id=\"q\" type=\"search\" autocomplete=\"off\" spellcheck=\"false\" \
         placeholder=\"e.g. ruby\"></div>\n\
         <div><label for=\"cat\">Category</label>\n<select id=\"cat\">\n\
         <option value=\"\">All categories</option>\n",
    );
    for c in &catalog.categories {
        let _ = writeln!(out, "<option value=\"{0}\">{0}</option>", escape(c));
    }
    let _ = write!(
        out,
        "</select></div>\n<p id=\"count\" role=\"status\" aria-live=\"polite\">{} \
         with {}</p>\n</form>\n",
        plural(catalog.cards.len(), "card", "cards"),
        plural(versions, "version", "versions"),
    );
    let (listed, unlisted): (Vec<&Card>, Vec<&Card>) =
        catalog.cards.iter().partition(|c| c.in_console());
    // The console shows its cards by name.
    let mut listed = listed;
    listed.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
            .then_with(|| a.key.cmp(&b.key))
    });
    out.push_str("<section class=\"cards\" aria-label=\"Catalog items\">\n");
    if listed.is_empty() {
        out.push_str(if catalog.cards.is_empty() {
            "<p class=\"empty\">No stream has a tag marked <code>builder</code>, so the \
             catalog is empty. Add <code>tags: builder,&lt;language&gt;</code> to a tag's \
             annotations to list it.</p>\n"
        } else {
            "<p class=\"empty\">The console lists none of these streams: see \
             &ldquo;Not in the developer catalog&rdquo; below.</p>\n"
        });
    }
    for card in &listed {
        render_card(&mut out, card);
    }
    out.push_str(
        "</section>\n<p id=\"none\" class=\"empty\" hidden>No card matches the filter.</p>\n",
    );
    if !unlisted.is_empty() {
        let _ = write!(
            out,
            "<h2 class=\"unlisted\" id=\"not-in-console\">Not in the developer catalog</h2>\n\
             <p class=\"summary\">{} the console does not list, with the reason.</p>\n\
             <section class=\"cards\" aria-labelledby=\"not-in-console\">\n",
            plural(unlisted.len(), "builder stream", "builder streams"),
        );
        for card in &unlisted {
            render_card(&mut out, card);
        }
        out.push_str("</section>\n");
    }
    if !catalog.omitted.is_empty() {
        let _ = write!(
            out,
            "<details class=\"omitted\"><summary>{} not in the catalog</summary>\n<ul>\n",
            plural(catalog.omitted.len(), "stream", "streams")
        );
        for o in &catalog.omitted {
            let prune = match o.prune_candidates {
                0 => String::new(),
                n => format!(
                    "; {} for <code>streamsync prune</code>",
                    plural(n, "tag is a candidate", "tags are candidates")
                ),
            };
            let _ = writeln!(
                out,
                "<li><code>{}</code>: {}{prune}</li>",
                escape(&o.key.to_string()),
                escape(&o.reason)
            );
        }
        out.push_str("</ul></details>\n");
    }
    let _ = write!(
        out,
        "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    out
}

/// Every icon the cards use, drawn once.
fn sprite(catalog: &Catalog) -> String {
    let keys: std::collections::BTreeSet<&str> = catalog
        .cards
        .iter()
        .map(|c| icons::key(c.icon_class.as_deref().unwrap_or_default()))
        .collect();
    let mut out = String::from(
        "<svg class=\"sprite\" width=\"0\" height=\"0\" aria-hidden=\"true\" focusable=\"false\">",
    );
    for k in keys {
        out.push_str(&icons::symbol(k));
    }
    out.push_str("</svg>");
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn render_card(out: &mut String, card: &Card) {
    let _ = write!(
        out,
        "<article class=\"card\" data-stream=\"{}\" data-in-console=\"{}\">\n\
         <div class=\"head\">{}<div>\n<h2>{}</h2>\n\
         <p class=\"key\"><code>{}</code>{}</p>\n</div></div>\n",
        escape(&card.key.to_string()),
        card.in_console(),
        icons::use_symbol(icons::key(card.icon_class.as_deref().unwrap_or_default())),
        escape(&card.display_name),
        escape(&card.key.to_string()),
        card.provider
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| format!(" · provided by {}", escape(p)))
            .unwrap_or_default(),
    );
    if let Some(reason) = card.reason {
        let _ = writeln!(
            out,
            "<p class=\"reason\" data-reason=\"{}\">{}.</p>",
            reason.code(),
            escape(reason.sentence())
        );
    }
    if let Some(icon) = card.icon_class.as_deref().filter(|_| !card.console_logo) {
        let _ = writeln!(
            out,
            "<p class=\"note\">The console has no logo for <code>{}</code>: it shows its generic catalog icon.</p>",
            escape(icon)
        );
    }
    if !card.categories.is_empty() || !card.languages.is_empty() {
        out.push_str("<ul class=\"chips\">");
        for c in &card.categories {
            let _ = write!(out, "<li class=\"cat\">{}</li>", escape(c));
        }
        for l in &card.languages {
            let _ = write!(out, "<li class=\"lang\">{}</li>", escape(l));
        }
        out.push_str("</ul>\n");
    }
    // The version drop-down is the script's: without it, every version is shown in turn.
    if let Some(repo) = &card.sample_repo {
        let _ = writeln!(
            out,
            "<p class=\"sample\">Sample repository: {}</p>",
            url_or_text(repo)
        );
    }
    out.push_str("<div class=\"versions\">\n");
    for (i, v) in card.versions.iter().enumerate() {
        render_version(out, v, i == 0);
    }
    out.push_str("</div>\n");
    if !card.unimported.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">Not listed until imported (no status tag yet): {}.</p>",
            card.unimported
                .iter()
                .map(|t| format!("<code>{}</code>", escape(t)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if card.other_tags > 0 {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} without <code>builder</code> not listed.</p>",
            plural(card.other_tags, "tag", "tags")
        );
    }
    out.push_str("</article>\n");
}

fn render_version(out: &mut String, v: &Version, default: bool) {
    let flagged = if v.flags.is_empty() { "" } else { " flagged" };
    let failed = if v.live.failure.is_some() {
        " failed"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<section class=\"version{flagged}{failed}\" data-tag=\"{}\"{}>\n\
         <h3>{} <code>{}</code></h3>\n",
        escape(&v.tag),
        if default {
            " data-default=\"true\""
        } else {
            ""
        },
        escape(&v.display_name),
        escape(&v.tag),
    );
    for f in &v.flags {
        let _ = writeln!(
            out,
            "<p class=\"flag {}\"><strong>{}:</strong> {}</p>",
            f.kind.class(),
            escape(&capitalise(f.kind.label())),
            escape(&f.text)
        );
    }
    if let Some(d) = &v.description {
        let _ = writeln!(out, "<p class=\"desc\">{}</p>", linkify(d));
    }
    out.push_str("<dl>\n");
    let mut row = |term: &str, value: String| {
        // The filter reads the languages from here.
        let class = if term == "Supports" {
            " class=\"supports\""
        } else {
            ""
        };
        let _ = writeln!(out, "<dt>{term}</dt><dd{class}>{value}</dd>");
    };
    if let Some(version) = &v.version {
        row("Version", escape(version));
    }
    if !v.supports.is_empty() {
        row("Supports", escape(&v.supports.join(", ")));
    }
    // The console shows one sample repository per card (the stream's first tag's), above.
    row("Source", format!("<code>{}</code>", escape(&v.source)));
    live_rows(&v.live, &mut row);
    out.push_str("</dl>\n</section>\n");
}

fn live_rows(live: &Live, row: &mut impl FnMut(&str, String)) {
    if live.pending {
        row(
            "Live state",
            "not applied yet: <code>streamsync apply</code> imports it".into(),
        );
    }
    if let Some(Current {
        digest,
        reference,
        platform,
        size,
        imported,
        ..
    }) = &live.current
    {
        if let Some(via) = &live.via {
            row(
                "Image of",
                if via == super::HIDDEN {
                    escape(via)
                } else {
                    format!("tag <code>{}</code>", escape(via))
                },
            );
        }
        if digest.is_empty() {
            row("Pull spec", format!("<code>{}</code>", escape(reference)));
        } else {
            row(
                "Digest",
                format!("<code>{}</code>", escape(&short_digest(digest))),
            );
        }
        if let Some(p) = platform {
            row("Platform", escape(p));
        }
        if let Some(s) = size {
            row("Size", human_size(*s));
        }
        if !imported.is_empty() {
            row("Last import", time(imported));
        }
    }
    if let Some(Failure {
        reason,
        message,
        time: at,
    }) = &live.failure
    {
        let mut text = format!("<strong>{}</strong>", escape(reason));
        if !message.is_empty() {
            let _ = write!(text, ": {}", escape(message));
        }
        if !at.is_empty() {
            let _ = write!(text, " ({})", time(at));
        }
        row(
            "Import failed",
            format!("<span class=\"failure\">{text}</span>"),
        );
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#f5f5f5;--fg:#151515;--muted:#4f5255;--card:#fff;--line:#d2d2d2;--link:#0047b3;--chip:#e7f1fa;--chipfg:#003a70;--warn:#fdf7e7;--warnfg:#5c4400;--warnline:#b88600;--bad:#faeaea;--badfg:#7d1007;--badline:#c9190b;--focus:#0066cc}
@media (prefers-color-scheme:dark){:root{--bg:#151515;--fg:#f0f0f0;--muted:#c6c7c8;--card:#212427;--line:#4f5255;--link:#92c5f9;--chip:#0e2a47;--chipfg:#cce3fa;--warn:#3d2c00;--warnfg:#ffe8a3;--warnline:#f0ab00;--bad:#470000;--badfg:#ffc7c2;--badline:#f0564a;--focus:#92c5f9}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:var(--bg);color:var(--fg)}
header,main{max-width:1200px;margin:0 auto;padding:0 16px}
header{padding-top:16px}
h1{font-size:1.6rem;margin:.2em 0}
.summary{color:var(--muted);margin:.3em 0 1em}
a{color:var(--link)}
a:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.9em;overflow-wrap:anywhere}
.filter{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;margin:0 0 16px}
.filter div{display:flex;flex-direction:column;gap:4px}
.filter label,.picker label{font-weight:600;font-size:.9rem}
input,select{font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--muted);border-radius:6px;padding:6px 8px;min-height:38px}
#q{width:min(100%,320px)}
#count{margin:0 0 8px;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px;align-items:start}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px;min-width:0}
.head{display:flex;gap:12px;align-items:center}
.icon{flex:none;width:48px;height:48px;color:var(--fg)}
.sprite{position:absolute;overflow:hidden}
h3 code{font-weight:normal;color:var(--muted)}
h2{font-size:1.2rem;margin:0}
h3{font-size:1rem;margin:.2em 0 .4em}
.key{margin:2px 0 0;color:var(--muted);font-size:.9rem}
.chips{list-style:none;display:flex;flex-wrap:wrap;gap:6px;padding:0;margin:12px 0 0}
.chips li{background:var(--chip);color:var(--chipfg);border-radius:12px;padding:1px 10px;font-size:.85rem}
.chips .lang{background:transparent;color:var(--fg);border:1px solid var(--line)}
.picker{display:flex;flex-direction:column;gap:4px;margin-top:12px}
.picker select{width:100%}
.version{border-top:1px solid var(--line);margin-top:12px;padding-top:8px}
.js .version{border-top:0;padding-top:0}
.desc{margin:.3em 0 .6em;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0;font-size:.92rem}
dt{color:var(--muted)}
dd{margin:0;min-width:0;overflow-wrap:anywhere}
.flag{background:var(--warn);color:var(--warnfg);border-left:4px solid var(--warnline);padding:6px 8px;margin:6px 0;border-radius:4px;font-size:.9rem}
.failure{color:var(--badfg);background:var(--bad);border-left:4px solid var(--badline);padding:2px 6px;display:inline-block;border-radius:4px}
.note{color:var(--muted);font-size:.85rem;margin:10px 0 0}
.empty{color:var(--muted)}
.cards>.empty{grid-column:1/-1}
.unlisted{font-size:1.3rem;margin:28px 0 0}
.reason{background:var(--warn);color:var(--warnfg);border-left:4px solid var(--warnline);padding:6px 8px;margin:10px 0 0;border-radius:4px;font-size:.9rem}
.omitted{margin:24px 0;color:var(--muted)}
summary{cursor:pointer}
[hidden]{display:none!important}
@media (max-width:600px){header,main{padding:0 10px}.cards{grid-template-columns:1fr}.card{padding:12px}dl{grid-template-columns:1fr}dt{margin-top:4px;font-weight:600}#q{width:100%}.filter div{width:100%}}
"#;

const SCRIPT: &str = r#"
(function(){
"use strict";
document.documentElement.classList.add("js");
var cards=Array.prototype.slice.call(document.querySelectorAll(".card"));
function words(card,sel){return Array.prototype.map.call(card.querySelectorAll(sel),function(e){return e.textContent;}).join(" ");}
var labels={prune:"prune candidate",stale:"stale dated tag",history:"old revisions to prune"};
cards.forEach(function(card,i){
  // What the filter matches: names, tags, languages (`supports`) and categories.
  card.search=[words(card,"h2,.key,.chips li,h3"),words(card,"dd.supports")].join(" ").toLowerCase();
  card.categories=Array.prototype.map.call(card.querySelectorAll(".chips .cat"),function(e){return e.textContent;});
  var versions=card.querySelectorAll(".version");
  var picker=document.createElement("div"),label=document.createElement("label"),select=document.createElement("select");
  picker.className="picker";
  select.id="card-"+i+"-version";
  label.htmlFor=select.id;
  label.textContent="Version";
  versions.forEach(function(v,j){
    var text=v.querySelector("h3").firstChild.textContent.trim(),notes=[];
    v.querySelectorAll("dt").forEach(function(dt){if(dt.textContent==="Version"){text+=" \u2014 "+dt.nextElementSibling.textContent;}});
    v.querySelectorAll(".flag").forEach(function(f){notes.push(labels[f.classList[1]]);});
    if(!notes.length&&v.classList.contains("failed")){notes.push("import failed");}
    if(notes.length){text+=" ("+notes.join(", ")+")";}
    select.appendChild(new Option(text,String(j)));
  });
  function show(){versions.forEach(function(v,j){v.hidden=String(j)!==select.value;});}
  select.addEventListener("change",show);
  picker.appendChild(label);
  picker.appendChild(select);
  card.insertBefore(picker,card.querySelector(".versions"));
  show();
});
var form=document.getElementById("filter"),q=document.getElementById("q"),cat=document.getElementById("cat");
var count=document.getElementById("count"),none=document.getElementById("none");
form.hidden=false;
form.addEventListener("submit",function(e){e.preventDefault();});
function filter(){
  var words=q.value.toLowerCase().split(/\s+/).filter(Boolean),c=cat.value,shown=0;
  cards.forEach(function(card){
    var hay=card.search,cats=card.categories;
    var ok=words.every(function(w){return hay.indexOf(w)>=0;})&&(!c||cats.indexOf(c)>=0);
    card.hidden=!ok;
    if(ok){shown++;}
  });
  count.textContent=shown+" of "+cards.length+(cards.length===1?" card":" cards");
  none.hidden=shown>0||cards.length===0;
}
q.addEventListener("input",filter);
cat.addEventListener("change",filter);
var params=new URLSearchParams(location.search);
if(params.has("q")){q.value=params.get("q");}
if(params.has("category")){cat.value=params.get("category");}
if(q.value||cat.value){filter();}
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_links() {
        assert_eq!(
            escape("<b a=\"1\">'&'</b>"),
            "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
        assert_eq!(escape("a\u{1b}[31mb"), "a\u{fffd}[31mb");
        assert_eq!(
            escape("a\u{202e}b\u{2066}\u{200f}\u{61c}"),
            "a\\u{202e}b\\u{2066}\\u{200f}\\u{61c}"
        );
        assert_eq!(
            linkify("see https://x.io/a?b=1&c=<2>. Or javascript:alert(1)"),
            "see <a href=\"https://x.io/a?b=1&amp;c=\">https://x.io/a?b=1&amp;c=</a>&lt;2&gt;. Or javascript:alert(1)"
        );
        assert_eq!(
            linkify("README at https://github.com/x/README.md."),
            "README at <a href=\"https://github.com/x/README.md\">https://github.com/x/README.md</a>."
        );
        assert_eq!(
            url_or_text("javascript:alert(1)"),
            "<code>javascript:alert(1)</code>"
        );
        assert_eq!(
            url_or_text("git@github.com:x/y.git"),
            "<code>git@github.com:x/y.git</code>"
        );
        assert!(url_or_text("HTTPS://x.io/y").starts_with("<a href=\"HTTPS://x.io/y\""));
    }

    #[test]
    fn policy_allows_the_script_by_hash_only() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(SCRIPT));
        assert!(CSP.contains(&format!("script-src 'sha256-{hash}';")));
        assert!(!CSP.contains("script-src 'unsafe-inline'"));
        assert!(CSP.contains("base-uri 'none'") && CSP.contains("form-action 'none'"));
    }

    #[test]
    fn sizes_and_digests() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(250 * 1024 * 1024), "250.0 MiB");
        assert_eq!(
            short_digest("sha256:0123456789abcdef0123"),
            "sha256:0123456789ab"
        );
        assert_eq!(short_digest("sha256:01"), "sha256:01");
    }
}
