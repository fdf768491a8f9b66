//! Bulk CSV import (`POST /v1/posts/import`): each row is a `POST /v1/posts` body, checked
//! and created by the same use case, in its own transaction.
//!
//! Decisions:
//! - Valid rows are created and refused rows reported, each by its row number (the header is
//!   row 1, as a spreadsheet numbers it), field and reason. A row is created whole or not at
//!   all; nothing is created when the file itself is refused (encoding, columns, row count).
//! - Every row is read and checked for shape before the first one is created.
//! - Formula injection: a text or tag cell starting with `=`, `+`, `-`, `@`, a tab or a CR is
//!   refused with its reason. Storing it changed (a leading `'`) would alter what the network
//!   publishes; refusing keeps every stored text safe to export as CSV.
//! - With an import key, row n is created under the key derived from the import key and n, so
//!   a retried import creates nothing new and answers the same ids.
//! - `media_url` imports the file as `POST /v1/media/imports` does (the SSRF guard checks the
//!   URL, refused on the row's `media_url`) and attaches it to the row's post; the post waits
//!   for its bytes as for an upload's. With an import key the media id is derived too, so a
//!   retry neither fetches twice nor changes the post it answers. A row refused after its
//!   import was recorded takes the import back. A dry run records nothing, so it checks the
//!   URL and the post without the file: what the file must be (type, size, shape) is checked
//!   when it arrives, and a network that needs media counts the URL as it.

use crate::posts::{self, NewPost};
use crate::{AppError, Deps, media, new_id};
use chrono::{DateTime, Utc};
use herald_domain::{AccountId, FieldError, MediaId, PostId, PostKind, WorkspaceId};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The most rows one import takes.
pub const MAX_ROWS: usize = 10_000;

const COLUMNS: [&str; 6] = [
    "text",
    "accounts",
    "scheduled_at",
    "tags",
    "kind",
    "media_url",
];
const REQUIRED: [&str; 2] = ["text", "accounts"];
/// What a spreadsheet reads as the start of a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Refusal {
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Created posts (none in a dry run).
    pub created: Vec<PostId>,
    /// Rows that passed every check (in a dry run: the ones that would be created).
    pub valid_rows: Vec<usize>,
    pub refused: Vec<Refusal>,
}

pub async fn import(
    deps: &Deps,
    ws: &WorkspaceId,
    by: &posts::Author,
    body: &[u8],
    dry_run: bool,
    import_key: Option<&str>,
) -> Result<ImportReport, AppError> {
    if let Some(k) = import_key
        && (k.is_empty() || k.len() > 255)
    {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 characters",
        ));
    }
    let rows = read(body)?;
    let by = &by.clone().settled(deps, ws).await?;
    let key_base = import_key.map(|k| hex::encode(Sha256::digest(k.as_bytes())));
    let mut report = ImportReport {
        dry_run,
        created: Vec::new(),
        valid_rows: Vec::new(),
        refused: Vec::new(),
    };
    for (row, parsed) in rows {
        let (mut new, media_url) = match parsed {
            Ok(parsed) => parsed,
            Err(errors) => {
                report.refuse(row, errors);
                continue;
            }
        };
        if let Some(url) = &media_url
            && let Err(AppError::Invalid(errors)) = media::check_url(deps, url)
        {
            report.refuse(row, renamed(errors, "media_url"));
            continue;
        }
        let key = key_base.as_ref().map(|b| format!("import/{b}/{row}"));
        let mut imported = None;
        let outcome = if dry_run {
            posts::check(deps, ws, by, &new)
                .await
                .map(|()| None)
                .or_else(|e| without_media_errors(e, media_url.is_some()))
        } else {
            if let Some(url) = &media_url {
                let id = match &key {
                    Some(k) => derived_media_id(k),
                    None => new_id!(deps, MediaId),
                };
                if media::import_as(deps, ws, url.trim(), &id).await? {
                    imported = Some(id.clone());
                }
                new.media = vec![id];
            }
            posts::create(deps, ws, by, new, key.as_deref())
                .await
                .map(|c| Some(c.post.id))
        };
        let refusal = match outcome {
            Ok(id) => {
                report.valid_rows.push(row);
                report.created.extend(id);
                continue;
            }
            Err(AppError::Invalid(errors)) => errors,
            Err(AppError::Conflict(message)) => vec![FieldError::new("row", message)],
            // The table failing is no verdict on the row: stop, so a retry (with the same
            // key) picks up where this one ended.
            Err(e) => return Err(e),
        };
        if let Some(id) = imported {
            media::withdraw_import(deps, ws, &id).await?;
        }
        report.refuse(row, refusal);
    }
    tracing::info!(workspace = %ws, dry_run, created = report.created.len(), refused = report.refused.len(), "import done");
    Ok(report)
}

impl ImportReport {
    fn refuse(&mut self, row: usize, errors: Vec<FieldError>) {
        self.refused.extend(errors.into_iter().map(|e| Refusal {
            row,
            field: e.field,
            message: e.message,
        }));
    }
}

/// A row's post body and its `media_url`, if any.
type Row = (usize, Result<(NewPost, Option<String>), Vec<FieldError>>);

/// The errors named after the row's column rather than the use case's own field.
fn renamed(errors: Vec<FieldError>, field: &str) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError::new(field, e.message))
        .collect()
}

/// A dry run's check of a row whose file is not there to check: what it says of the media
/// is for the file's arrival to settle.
fn without_media_errors(e: AppError, has_media: bool) -> Result<Option<PostId>, AppError> {
    match e {
        AppError::Invalid(errors) if has_media => {
            let rest: Vec<_> = errors
                .into_iter()
                .filter(|e| !e.field.ends_with(".media") && e.field != "media")
                .collect();
            if rest.is_empty() {
                Ok(None)
            } else {
                Err(AppError::Invalid(rest))
            }
        }
        e => Err(e),
    }
}

/// The media id of row `key`'s import: the same for every retry with the import key.
fn derived_media_id(key: &str) -> MediaId {
    let digest = Sha256::digest(key.as_bytes());
    let mut time = [0u8; 8];
    time[2..].copy_from_slice(&digest[..6]);
    let mut random = [0u8; 16];
    random.copy_from_slice(&digest[6..22]);
    MediaId::generate(u64::from_be_bytes(time), u128::from_be_bytes(random))
}

/// The whole file read: every row parsed to a post body or its errors. A file that is not
/// UTF-8, whose header is wrong or that has too many rows is refused whole.
fn read(body: &[u8]) -> Result<Vec<Row>, AppError> {
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|e| {
        AppError::invalid(
            "body",
            format!(
                "not UTF-8 (the byte at offset {} is not); save the file as UTF-8 CSV",
                e.valid_up_to()
            ),
        )
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| AppError::invalid("body", format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let columns = columns(&header)?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        if rows.len() == MAX_ROWS {
            return Err(AppError::invalid(
                "body",
                format!("at most {MAX_ROWS} rows in one import"),
            ));
        }
        let parsed = match record {
            Ok(r) if r.len() != header.len() => Err(vec![FieldError::new(
                "row",
                format!("has {} cells, the header has {}", r.len(), header.len()),
            )]),
            Ok(r) => parse_row(&columns, &r),
            Err(e) => Err(vec![FieldError::new("row", format!("cannot be read: {e}"))]),
        };
        rows.push((row, parsed));
    }
    Ok(rows)
}

/// Where each known column is; unknown, repeated or missing required columns refuse the file.
fn columns(header: &[String]) -> Result<[Option<usize>; 6], AppError> {
    let mut at = [None; 6];
    let mut errors = Vec::new();
    for (i, name) in header.iter().enumerate() {
        match COLUMNS.iter().position(|c| c == name) {
            Some(c) if at[c].is_some() => {
                errors.push(FieldError::new(name.clone(), "column given more than once"))
            }
            Some(c) => at[c] = Some(i),
            None => errors.push(FieldError::new(
                if name.is_empty() {
                    "header"
                } else {
                    name.as_str()
                },
                format!("unknown column; the columns are {}", COLUMNS.join(",")),
            )),
        }
    }
    for name in REQUIRED {
        let c = COLUMNS.iter().position(|c| *c == name).expect("a column");
        if at[c].is_none() {
            errors.push(FieldError::new(name, "required column missing"));
        }
    }
    if errors.is_empty() {
        Ok(at)
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn parse_row(
    columns: &[Option<usize>; 6],
    record: &csv::StringRecord,
) -> Result<(NewPost, Option<String>), Vec<FieldError>> {
    let cell = |c: usize| columns[c].and_then(|i| record.get(i)).unwrap_or("");
    let mut errors = Vec::new();
    // A line break inside a quoted cell may arrive as CRLF: it is one newline of the text.
    let text = cell(0).replace("\r\n", "\n");
    if let Some(message) = formula(&text) {
        errors.push(FieldError::new("text", message));
    }
    let mut accounts = Vec::new();
    for (i, raw) in split(cell(1)).enumerate() {
        match AccountId::parse(raw) {
            Some(id) => accounts.push(id),
            None => errors.push(FieldError::new(
                format!("accounts[{i}]"),
                "not an account id",
            )),
        }
    }
    let scheduled_at = match cell(2).trim() {
        "" => None,
        raw => match DateTime::parse_from_rfc3339(raw) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                errors.push(FieldError::new(
                    "scheduled_at",
                    format!("not an RFC 3339 time: {e}"),
                ));
                None
            }
        },
    };
    let tags: Vec<String> = split(cell(3)).map(str::to_owned).collect();
    for (i, tag) in tags.iter().enumerate() {
        if let Some(message) = formula(tag) {
            errors.push(FieldError::new(format!("tags[{i}]"), message));
        }
    }
    let kind = match cell(4).trim() {
        "" => PostKind::default(),
        raw => match serde_json::from_value(serde_json::Value::String(raw.to_owned())) {
            Ok(kind) => kind,
            Err(_) => {
                errors.push(FieldError::new("kind", "must be social or promotional"));
                PostKind::default()
            }
        },
    };
    let media_url = Some(cell(5).trim().to_owned()).filter(|u| !u.is_empty());
    if !errors.is_empty() {
        return Err(errors);
    }
    let new = NewPost {
        text,
        accounts,
        scheduled_at,
        variants: Default::default(),
        media: Vec::new(),
        tags,
        kind,
        recurrence: None,
        queue: false,
    };
    Ok((new, media_url))
}

/// The parts of a `|`-joined cell, trimmed, empty ones left out.
fn split(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('|').map(str::trim).filter(|s| !s.is_empty())
}

/// Why a cell would be a live formula in a spreadsheet, if it would.
fn formula(cell: &str) -> Option<String> {
    let first = cell.chars().next()?;
    FORMULA_STARTS.contains(&first).then(|| {
        format!(
            "starts with {first:?}, which a spreadsheet opening an export would run as a formula; \
             start it with another character"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(csv: &str) -> Result<[Option<usize>; 6], AppError> {
        let h: Vec<String> = csv.split(',').map(str::to_owned).collect();
        columns(&h)
    }

    #[test]
    fn a_header_missing_a_required_column_names_it() {
        let Err(AppError::Invalid(errors)) = header_of("text,scheduled_at") else {
            panic!("accepted");
        };
        assert_eq!(
            errors,
            vec![FieldError::new("accounts", "required column missing")]
        );
    }

    #[test]
    fn unknown_and_repeated_columns_are_refused() {
        let Err(AppError::Invalid(errors)) = header_of("text,accounts,text,colour") else {
            panic!("accepted");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["text", "colour"]);
    }

    #[test]
    fn every_formula_start_is_refused_and_ordinary_text_is_not() {
        for bad in ["=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(formula(bad).is_some(), "{bad:?}");
        }
        for ok in ["Hello", " =x", "", "'=x", "#tag", "50% off"] {
            assert!(formula(ok).is_none(), "{ok:?}");
        }
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_naming_the_offset() {
        let Err(AppError::Invalid(errors)) = read(b"text,accounts\nab\xff,x\n") else {
            panic!("accepted");
        };
        assert_eq!(errors[0].field, "body");
        assert!(errors[0].message.contains("offset 16"), "{errors:?}");
    }

    #[test]
    fn more_rows_than_the_limit_refuse_the_file() {
        let mut csv = String::from("text,accounts\n");
        for _ in 0..=MAX_ROWS {
            csv.push_str("hi,acct_x\n");
        }
        assert!(matches!(read(csv.as_bytes()), Err(AppError::Invalid(_))));
    }
}
