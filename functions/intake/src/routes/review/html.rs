//! The client review page as HTML: every text from the workspace is escaped, times are in the
//! workspace's time zone, and the only actions are two plain forms per post.

use chrono::{DateTime, Utc};
use herald_app::posts::PostView;
use herald_app::review_links::ReviewPage;
use herald_domain::PostStatus;
use std::fmt::Write;

/// Text as HTML text or attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn local(at: DateTime<Utc>, tz: Option<chrono_tz::Tz>) -> String {
    match tz {
        Some(tz) => at
            .with_timezone(&tz)
            .format("%a %-d %b %Y, %H:%M %Z")
            .to_string(),
        None => at.format("%a %-d %b %Y, %H:%M UTC").to_string(),
    }
}

fn status_label(status: PostStatus) -> &'static str {
    match status {
        PostStatus::Draft => "Draft",
        PostStatus::InReview => "Waiting for your approval",
        PostStatus::Scheduled => "Approved and scheduled",
        PostStatus::Publishing => "Publishing",
        PostStatus::Published => "Published",
        PostStatus::PartiallyPublished => "Partly published",
        PostStatus::Failed => "Failed",
        PostStatus::Cancelled => "Cancelled",
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1e23;line-height:1.5}\
main{max-width:44rem;margin:0 auto;padding:1rem}\
article{background:#fff;border:1px solid #c9ced6;border-radius:.5rem;padding:1rem;margin:1rem 0}\
h1{font-size:1.4rem}h2{font-size:1.05rem;margin:0 0 .5rem}h3{font-size:.95rem;margin:.25rem 0}\
form{margin-top:.75rem}label{display:block;font-weight:600}\
.text{white-space:pre-wrap;overflow-wrap:anywhere}\
.status{font-weight:600}.review{color:#8a4b00}\
textarea{width:100%;box-sizing:border-box;min-height:4rem;font:inherit}\
button{font:inherit;padding:.4rem .9rem;margin-top:.4rem;border-radius:.3rem;border:1px solid #1b4f9c;background:#1b4f9c;color:#fff;cursor:pointer}\
button:focus-visible,textarea:focus-visible{outline:3px solid #f0b400;outline-offset:2px}\
.comments{border-left:3px solid #c9ced6;padding-left:.75rem;margin:.5rem 0}";

pub fn page(page: &ReviewPage, token: &str) -> String {
    let tz = page
        .workspace
        .settings
        .timezone
        .parse::<chrono_tz::Tz>()
        .ok();
    let name = escape(&page.workspace.name);
    let token = escape(token);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Posts for review: {name}</title><style>{STYLE}</style></head><body><main>\
<h1>Posts for review: {name}</h1><p>From {} to {}. This link works until {}.</p>",
        local(page.link.from, tz),
        local(page.link.to, tz),
        local(page.link.expires_at, tz),
    );
    if page.posts.is_empty() {
        out.push_str("<p>No posts are planned in this window.</p>");
    }
    for post in &page.posts {
        article(&mut out, page, post, tz, &token);
    }
    out.push_str("</main></body></html>");
    out
}

fn article(
    out: &mut String,
    page: &ReviewPage,
    post: &PostView,
    tz: Option<chrono_tz::Tz>,
    token: &str,
) {
    let id = escape(post.id.as_str());
    let when = post
        .scheduled_at
        .map(|t| local(t, tz))
        .unwrap_or_else(|| "No time yet".into());
    let review = post.status == PostStatus::InReview;
    let _ = write!(
        out,
        "<article aria-labelledby=\"h-{id}\"><h2 id=\"h-{id}\">{when}</h2>\
<p class=\"status{}\">{}</p><p class=\"text\">{}</p>",
        if review { " review" } else { "" },
        status_label(post.status),
        escape(&post.text),
    );
    out.push_str("<p>On: ");
    let accounts: Vec<String> = post
        .accounts
        .iter()
        .map(|a| match page.accounts.get(a) {
            Some(account) => format!(
                "{} ({})",
                escape(&account.handle),
                account.platform.as_str()
            ),
            None => escape(a.as_str()),
        })
        .collect();
    out.push_str(&accounts.join(", "));
    out.push_str("</p>");
    for (platform, variant) in &post.variants {
        if let Some(text) = &variant.text {
            let _ = write!(
                out,
                "<p>On {}: <span class=\"text\">{}</span></p>",
                platform.as_str(),
                escape(text)
            );
        }
    }
    if !post.comments.is_empty() {
        out.push_str("<div class=\"comments\"><h3>Comments</h3>");
        for c in &post.comments {
            let who = match &c.by {
                herald_domain::Actor::Client(_) => "Client".to_owned(),
                _ => "Team".to_owned(),
            };
            let _ = write!(
                out,
                "<p><strong>{who}</strong>, {}: <span class=\"text\">{}</span></p>",
                local(c.at, tz),
                escape(&c.text)
            );
        }
        out.push_str("</div>");
    }
    if review {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/review/{token}/posts/{id}/approve\">\
<button type=\"submit\">Approve</button></form>"
        );
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/review/{token}/posts/{id}/comments\">\
<label for=\"c-{id}\">Comment</label>\
<textarea id=\"c-{id}\" name=\"comment\" maxlength=\"2000\" required></textarea>\
<button type=\"submit\">Send comment</button></form></article>"
    );
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_a_text_is_shown_not_run() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
