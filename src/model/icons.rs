//! The `iconClass` names the OpenShift console knows, and the small inline SVG drawn for each.
//!
//! The console draws a logo when a tag's `iconClass` is exactly a key of its logo map, and its
//! generic catalog icon otherwise (`font-icon icon-ruby` and `fa fa-code` included). This
//! module is plain data: `validate` asks it which classes are known, the page asks it for the
//! drawing. It reads nothing and knows nothing of streams.

/// The keys of the console's logo map (openshift/console
/// `frontend/public/components/catalog/catalog-item-icon.tsx`, `logos`), sorted: an `iconClass`
/// is drawn as a logo only when it is one of these exactly; any other value (`font-icon
/// icon-ruby`, `fa fa-code`, ` icon-ruby`) gets the console's generic catalog icon.
pub const KNOWN: &[&str] = &[
    "icon-3scale",
    "icon-aerogear",
    "icon-amq",
    "icon-angularjs",
    "icon-ansible",
    "icon-apache",
    "icon-beaker",
    "icon-build",
    "icon-camel",
    "icon-capedwarf",
    "icon-cassandra",
    "icon-catalog",
    "icon-clojure",
    "icon-codeigniter",
    "icon-cordova",
    "icon-datagrid",
    "icon-datavirt",
    "icon-debian",
    "icon-decisionserver",
    "icon-django",
    "icon-dotnet",
    "icon-drupal",
    "icon-eap",
    "icon-elastic",
    "icon-erlang",
    "icon-fedora",
    "icon-freebsd",
    "icon-git",
    "icon-gitea",
    "icon-github",
    "icon-gitlab",
    "icon-glassfish",
    "icon-go-gopher",
    "icon-golang",
    "icon-grails",
    "icon-hadoop",
    "icon-haproxy",
    "icon-helm",
    "icon-httpd",
    "icon-infinispan",
    "icon-intellij",
    "icon-java",
    "icon-jboss",
    "icon-jenkins",
    "icon-jetty",
    "icon-joomla",
    "icon-jruby",
    "icon-js",
    "icon-knative",
    "icon-kubevirt",
    "icon-laravel",
    "icon-load-balancer",
    "icon-mariadb",
    "icon-mediawiki",
    "icon-memcached",
    "icon-mongodb",
    "icon-mssql",
    "icon-mysql-database",
    "icon-nginx",
    "icon-nodejs",
    "icon-openjdk",
    "icon-openliberty",
    "icon-openshift",
    "icon-openstack",
    "icon-operator",
    "icon-other-linux",
    "icon-other-unknown",
    "icon-perl",
    "icon-phalcon",
    "icon-php",
    "icon-play",
    "icon-postgresql",
    "icon-processserver",
    "icon-python",
    "icon-quarkus",
    "icon-r",
    "icon-rabbitmq",
    "icon-rails",
    "icon-react",
    "icon-redhat",
    "icon-redis",
    "icon-rh-integration",
    "icon-rh-openjdk",
    "icon-rh-spring-boot",
    "icon-rh-tomcat",
    "icon-ruby",
    "icon-rust",
    "icon-scala",
    "icon-serverless-function",
    "icon-shadowman",
    "icon-shiny",
    "icon-spring",
    "icon-spring-boot",
    "icon-sso",
    "icon-stackoverflow",
    "icon-suse",
    "icon-symfony",
    "icon-tomcat",
    "icon-ubuntu",
    "icon-vertx",
    "icon-vscode",
    "icon-wildfly",
    "icon-windows",
    "icon-wordpress",
    "icon-xamarin",
    "icon-zend",
];

/// Badge letters and colour for the common languages and servers; other known classes get
/// letters from their name and a neutral colour. Every colour keeps white bold letters at a
/// contrast of at least 4.5:1.
const BADGES: &[(&str, &str, &str)] = &[
    ("icon-dotnet", ".N", "#5c2d91"),
    ("icon-go-gopher", "Go", "#00758f"),
    ("icon-golang", "Go", "#00758f"),
    ("icon-httpd", "Ht", "#8c1d40"),
    ("icon-apache", "Ap", "#8c1d40"),
    ("icon-java", "J", "#9c4a00"),
    ("icon-jenkins", "Je", "#7a2e2b"),
    ("icon-js", "JS", "#6b5b00"),
    ("icon-mariadb", "Ma", "#003545"),
    ("icon-mongodb", "Mo", "#116149"),
    ("icon-mysql-database", "My", "#00546b"),
    ("icon-nginx", "Ng", "#00733b"),
    ("icon-nodejs", "JS", "#3c7a3c"),
    ("icon-openjdk", "J", "#9c4a00"),
    ("icon-perl", "Pl", "#2a4b8d"),
    ("icon-php", "Php", "#4f5b93"),
    ("icon-postgresql", "Pg", "#336791"),
    ("icon-python", "Py", "#30659a"),
    ("icon-redis", "Rd", "#a41e11"),
    ("icon-rh-openjdk", "J", "#9c4a00"),
    ("icon-ruby", "Rb", "#b3261e"),
    ("icon-rails", "Rb", "#b3261e"),
    ("icon-scala", "Sc", "#a3241b"),
    ("icon-tomcat", "Tc", "#7d5a00"),
    ("icon-rh-tomcat", "Tc", "#7d5a00"),
    ("icon-wildfly", "WF", "#2b5d80"),
];

/// Whether the console has a logo for `icon_class` (`logos.get(iconClass)`: the exact value).
pub fn is_known(icon_class: &str) -> bool {
    KNOWN.binary_search(&icon_class).is_ok()
}

/// The logo class `icon_class` is, if the console has a logo for it.
fn logo(icon_class: &str) -> Option<&'static str> {
    KNOWN.binary_search(&icon_class).ok().map(|i| KNOWN[i])
}

/// The drawing `icon_class` gets: its logo, or `generic` (the console's generic catalog
/// icon). The page defines each drawing once and refers to it by this name.
pub fn key(icon_class: &str) -> &'static str {
    logo(icon_class).unwrap_or("generic")
}

/// The SVG `<symbol>` drawn for a [`key`]: a lettered badge for a known logo, the generic image
/// icon otherwise. Decorative: the card names the stream in text.
pub fn symbol(key: &str) -> String {
    let Some(name) = logo(key) else {
        return format!("<symbol id=\"i-generic\" viewBox=\"0 0 48 48\">{GENERIC}</symbol>");
    };
    let (letters, colour) = BADGES.iter().find(|(n, _, _)| *n == name).map_or_else(
        || (letters_of(name), "#4d5258".to_owned()),
        |(_, l, c)| ((*l).to_owned(), (*c).to_owned()),
    );
    let size = if letters.chars().count() > 2 { 15 } else { 19 };
    format!(
        "<symbol id=\"i-{name}\" viewBox=\"0 0 48 48\"><rect width=\"48\" height=\"48\" rx=\"10\" fill=\"{colour}\"/><text x=\"24\" y=\"31\" text-anchor=\"middle\" font-family=\"sans-serif\" font-weight=\"bold\" font-size=\"{size}\" fill=\"#fff\">{letters}</text></symbol>"
    )
}

/// The icon of a card: a reference to its [`symbol`].
pub fn use_symbol(key: &str) -> String {
    let class = if key == "generic" {
        "icon generic"
    } else {
        "icon"
    };
    format!("<svg class=\"{class}\" aria-hidden=\"true\"><use href=\"#i-{key}\"/></svg>")
}

/// Up to two letters of a logo name: `icon-load-balancer` → `LB`, `icon-helm` → `He`.
fn letters_of(name: &str) -> String {
    let words: Vec<&str> = name
        .trim_start_matches("icon-")
        .split('-')
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = String::new();
    if words.len() >= 2 {
        for w in words.iter().take(2) {
            out.extend(w.chars().next().map(|c| c.to_ascii_uppercase()));
        }
    } else if let Some(w) = words.first() {
        let mut chars = w.chars();
        out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        out.extend(chars.next());
    }
    out
}

/// The generic icon: a stacked-layers image, drawn in the text colour.
const GENERIC: &str = "<rect x=\"1\" y=\"1\" width=\"46\" height=\"46\" rx=\"10\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\"/><path d=\"M24 10 38 17 24 24 10 17Z M10 24 24 31 38 24 M10 31 24 38 38 31\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_list_is_sorted_for_binary_search() {
        assert!(KNOWN.windows(2).all(|w| w[0] < w[1]));
        for (name, _, _) in BADGES {
            assert!(KNOWN.contains(name), "{name}");
        }
    }

    #[test]
    fn known_classes_and_families() {
        assert_eq!(KNOWN.len(), 106);
        assert!(is_known("icon-ruby"));
        for k in [
            "icon-rust",
            "icon-react",
            "icon-gitea",
            "icon-build",
            "icon-catalog",
        ] {
            assert!(is_known(k), "{k}");
        }
        for k in [
            "icon-catalog-icon",
            "icon-fuse",
            "icon-serverless",
            "font-icon icon-nodejs",
        ] {
            assert!(!is_known(k), "{k}");
        }
        assert!(!is_known("fa fa-code"));
        assert!(!is_known(" icon-ruby"));
        assert!(!is_known("icon-rubyy"));
        assert!(!is_known(""));
        assert!(!is_known("ruby"));
    }

    #[test]
    fn badges_and_fallback() {
        assert_eq!(key("icon-ruby"), "icon-ruby");
        assert_eq!(key("font-icon icon-ruby"), "generic");
        assert!(symbol("icon-ruby").contains(">Rb<"));
        assert!(symbol("icon-load-balancer").contains(">LB<"));
        assert!(symbol("icon-helm").contains(">He<"));
        assert_eq!(key("icon-nope"), "generic");
        assert_eq!(key("fa fa-code"), "generic");
        assert!(symbol("generic").starts_with("<symbol id=\"i-generic\""));
        assert!(use_symbol("generic").contains("href=\"#i-generic\""));
    }
}
