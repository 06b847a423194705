//! Every sentence the cockpit shows, in one place (wording is reviewed here, not hunted for in
//! render code). Fixed texts are constants; texts with values are small functions.

use super::keymap::{Command, Context};

/// One line per command for help; short labels for the hint bar.
pub fn describe(cmd: Command) -> (&'static str, &'static str) {
    use Command as C;
    match cmd {
        C::ReviewRelease => (
            "review a secret-release request (no text field types it)",
            "review",
        ),
        C::Help => ("all keys", "help"),
        C::Quit => ("quit (the session stays active)", "quit"),
        C::FocusNext => ("focus the next pane", "next pane"),
        C::FocusPrev => ("focus the previous pane", "prev pane"),
        C::FocusPane => ("focus pane 1-9 (the numbers in the pane titles)", "pane"),
        C::StartSession => ("start a session", "start"),
        C::EndSession => ("end the session (preview, then confirm)", "end"),
        C::Note => ("add a note to the activity log", "note"),
        C::Goal => ("add a goal", "goal"),
        C::Belief => ("capture a belief", "belief"),
        C::Update => ("write an update entry (git activity)", "update"),
        C::Scry => ("search the project (type; Esc leaves the input)", "search"),
        C::ScryScope => (
            "scry scope: this project / all registered projects",
            "scope",
        ),
        C::Recover => ("recover a stale or crashed session", "recover"),
        C::LockSecrets => ("lock unlocked secrets now", "lock"),
        C::NextTheme => ("next theme (remembered)", "theme"),
        C::Mouse => ("mouse on/off (click rows and panes)", "mouse"),
        C::Messages => ("every message and error so far, in full", "messages"),
        C::Suspend => ("suspend to the shell (fg to return)", "suspend"),
        C::Up => ("move up", "up"),
        C::Down => ("move down", "down"),
        C::PageUp => ("page up", "page up"),
        C::PageDown => ("page down", "page down"),
        C::Top => ("first item", "top"),
        C::Bottom => ("last item (activity: follow new entries)", "follow"),
        C::Filter => ("filter the list (scry: type a query)", "filter"),
        C::Open => (
            "open the selection (commit: diff; result: $EDITOR at its line)",
            "open",
        ),
        C::Edit => ("open the selection in $EDITOR", "edit"),
        C::ToggleGoal => ("toggle the selected goal", "toggle"),
        C::Preview => ("preview full screen / back", "preview"),
        C::Leave => ("leave the input (results keep the keyboard)", "leave"),
        C::HistoryPrev => ("previous query", "history"),
        C::HistoryNext => ("next query", "next query"),
        C::CharLeft => ("cursor left", "left"),
        C::CharRight => ("cursor right", "right"),
        C::WordLeft => ("word left", "word ←"),
        C::WordRight => ("word right", "word →"),
        C::LineStart => ("start of line", "home"),
        C::LineEnd => ("end of line", "end"),
        C::LineUp => ("line up (multi-line fields)", "line up"),
        C::LineDown => ("line down (multi-line fields)", "line down"),
        C::DeleteBack => ("delete the character before", "delete"),
        C::DeleteForward => ("delete the character under the cursor", "delete →"),
        C::DeleteWordBack => ("delete the word before", "del word"),
        C::DeleteWordForward => ("delete the word after", "del word →"),
        C::KillToEnd => ("delete to the end of the line", "kill →"),
        C::KillToStart => ("delete to the start of the line", "kill ←"),
        C::Undo => ("undo", "undo"),
        C::Redo => ("redo", "redo"),
        C::Newline => ("new line (notes, statements, evidence)", "newline"),
        C::Submit => ("save / accept", "save"),
        C::Cancel => ("cancel (nothing is written)", "cancel"),
        C::NextField => ("next field", "next field"),
        C::PrevField => ("previous field", "prev field"),
        C::CompletionNext => ("next completion (supports/attacks)", "completion"),
        C::CompletionPrev => ("previous completion", "completion ↑"),
        C::Yes => ("yes", "yes"),
        C::No => ("no", "no"),
        C::CommitArchive => ("also commit the archive file (end)", "commit archive"),
        C::Close => ("close", "close"),
        C::Allow => ("release the secrets to that process", "allow"),
        C::Deny => ("refuse the release", "deny"),
    }
}

pub fn context_title(ctx: Context) -> &'static str {
    match ctx {
        Context::Always => "Anywhere",
        Context::Global => "Everywhere outside text fields",
        Context::List => "Lists",
        Context::Session => "Session pane",
        Context::Activity => "Activity pane",
        Context::Commits => "Commits pane",
        Context::Beliefs => "Beliefs pane",
        Context::History => "Past sessions pane",
        Context::Scry => "Scry pane (results)",
        Context::ScryInput => "Scry input",
        Context::FilterInput => "List filter",
        Context::Field => "Text fields",
        Context::Form => "Forms (note, goal, start, belief)",
        Context::Confirm => "Yes/no popups",
        Context::Viewer => "Viewers (help, messages, diff, session, preview)",
        Context::Release => "Secret-release review",
    }
}

pub const HELP_TITLE: &str = "Keys";
pub const HELP_FOOTER: &[&str] = &[
    "A printable key in a text field is text; Alt+letter there is editing, never a command.",
    "Remap in $XDG_CONFIG_HOME/patina/config.toml under [keys], e.g. note = \"N\".",
];

// Panes
pub const PANE_SESSION: &str = "Session";
pub const PANE_ACTIVITY: &str = "Activity";
pub const PANE_COMMITS: &str = "Commits";
pub const PANE_BELIEFS: &str = "Beliefs";
pub const PANE_HISTORY: &str = "Past sessions";
pub const PANE_SCRY: &str = "Scry";

pub const LOADING: &str = "loading…";
pub const NOT_A_PROJECT: &str = "not a patina project yet — press S to set it up (patina init)";
pub fn not_initialized(root: &str, key: &str) -> String {
    format!(
        "{root} is a git repository but not a patina project yet.\nPress {key} to set it up (patina init)."
    )
}
pub fn unavailable(what: &str, why: &str) -> String {
    format!("{what} not available: {why}")
}
pub fn no_session(key: &str) -> String {
    format!("No active session.\nPress {key} to start one.")
}
pub fn no_goals(key: &str) -> String {
    format!("  none — {key} adds one")
}
pub fn session_unreadable(why: &str, recover: &str) -> String {
    format!(
        "The active session file cannot be read:\n{why}\n\nPress {recover} to set it aside (it is kept, renamed) and start again."
    )
}
pub const ACTIVITY_EMPTY: &str = "The log of the active session shows here.";
pub const ACTIVITY_PAUSED: &str = "paused · G follows";
pub const COMMITS_NONE: &str = "No commits in this session yet.";
pub const COMMITS_NO_SESSION: &str = "Commits of the active session show here.";
pub fn beliefs_none(key: &str) -> String {
    format!("No beliefs yet — {key} captures one.")
}
pub const HISTORY_NONE: &str = "No archived sessions yet.";
pub fn scry_prompt_idle(key: &str) -> String {
    format!("press {key} and type to search")
}
pub const SCRY_SEARCHING: &str = "searching…";
pub fn scry_no_results(q: &str) -> String {
    format!("no results for {q:?}")
}
pub fn lexical_only(why: &str) -> String {
    format!("lexical search only: {why}")
}
pub fn scry_daemon_busy(why: &str) -> String {
    format!("the daemon did not answer ({why}); type to ask again")
}
pub const SCRY_ALL: &str = "all projects";
pub const SCRY_HERE: &str = "this project";
pub fn filter_none(f: &str) -> String {
    format!("nothing matches {f:?} (Esc clears the filter)")
}

// Status bar
pub const DAEMON_UNKNOWN: &str = "daemon: checking";
pub const DAEMON_STARTING: &str = "daemon: starting";
pub const DAEMON_UP: &str = "daemon: running";
pub const DAEMON_DOWN: &str = "daemon: not running";
pub const DAEMON_RESTARTING: &str = "daemon: restarting";
pub const MODEL_UNKNOWN: &str = "search: checking";
pub const MODEL_READY: &str = "search: semantic";
pub const MODEL_LEXICAL: &str = "search: words only";
pub fn model_installing(p: &str) -> String {
    format!("model: installing {p}")
}
pub fn indexing(done: usize, total: usize) -> String {
    if total > 0 {
        format!("indexing {done}/{total}")
    } else {
        "indexing".into()
    }
}
pub fn secrets_unlocked(mins: i64, secs: i64) -> String {
    format!("secrets unlocked, locks in {mins}:{secs:02}")
}
pub const SECRETS_LOCKED: &str = "secrets locked";
pub const SECRETS_UNKNOWN: &str = "secrets: checking";
pub const SECRETS_NA: &str = "secrets: no daemon";
pub const AGENT_BUSY: &str = "agent working";
pub const AGENT_WAITING: &str = "agent waiting for you";
pub const AGENT_IDLE: &str = "agent idle";
pub fn help_hint(key: &str) -> String {
    format!("{key} help")
}
pub fn more_in_messages(key: &str) -> String {
    format!("… ({key} shows it in full)")
}

// Popups
pub const START_TITLE: &str = "Start a session";
pub const NOTE_TITLE: &str = "Note for the activity log";
pub const GOAL_TITLE: &str = "New goal";
pub const BELIEF_TITLE: &str = "Capture a belief";
pub const END_TITLE: &str = "End the session?";
pub const RECOVER_TITLE: &str = "Recover";
pub const INIT_TITLE: &str = "patina init";
pub const MESSAGES_TITLE: &str = "Messages";
pub const CONFIG_TITLE: &str = "Configuration";
pub const CONFIG_INTRO: &str =
    "Problems in your config (the cockpit runs with defaults for these; valid entries are kept):";
pub const WORKING: &str = "working…";
pub fn waiting_keys(n: usize) -> String {
    format!("working… ({n} keys typed ahead will follow)")
}
pub const EMPTY_TEXT: &str = "empty — type something or press Esc";
pub const TITLE_REQUIRED: &str = "a title is required";
pub fn end_hint(commit: bool, yes: &str, no: &str, c: &str) -> String {
    format!(
        "{yes} ends (tag, classify, archive{}) · {c} {} · {no} keeps it",
        if commit { ", commit the archive" } else { "" },
        if commit {
            "don't commit it"
        } else {
            "also commits the archive"
        }
    )
}
pub const END_CLASSIFYING: &str = "classifying…";
pub fn recover_stale(id: &str, idle: &str) -> String {
    format!("Session {id} looks stale: no activity for {idle}.")
}
pub fn recover_active(id: &str, idle: &str) -> String {
    format!("Session {id} is active (last activity {idle} ago) — it does not look abandoned.")
}
pub const RECOVER_NONE: &str = "Recover a crashed or forgotten session?";
pub const RECOVER_WHAT: &str =
    "Recovering ends it with an end tag and classification, and archives it.";
pub fn recover_hint(yes: &str, no: &str) -> String {
    format!("{yes} recovers · {no} keeps it")
}
pub const UNREADABLE_TITLE: &str = "Unreadable active session";
pub fn unreadable_what(why: &str) -> String {
    format!(
        "The active session file cannot be read, so nothing can be logged:\n{why}\nSetting it aside renames it (nothing is deleted) so a new session can start."
    )
}
pub fn unreadable_hint(yes: &str, no: &str) -> String {
    format!("{yes} sets it aside · {no} leaves it")
}
pub fn init_what(root: &str) -> String {
    format!("{root} is a git repository, but not a patina project yet. Set it up now?")
}
pub const INIT_DETAIL: &str =
    "Creates .patina/config.toml, layer/ and sessions/; touches none of your files.";
pub fn init_hint(yes: &str, no: &str) -> String {
    format!("{yes} runs `patina init` · {no} browses without")
}
pub const INIT_DECLINED: &str =
    "Not a patina project: sessions, beliefs and search need `patina init` (press S).";
pub fn form_hint(submit: &str, next: &str, cancel: &str) -> String {
    format!("{submit} saves · {next} next field · {cancel} cancels")
}
pub fn note_hint(submit: &str, newline: &str, cancel: &str) -> String {
    format!("{submit} saves · {newline} new line · {cancel} cancels")
}
pub const BELIEF_LISTS: &str = "supports/attacks/facets are comma-separated";
pub const ENTRENCHMENT_HINT: &str = "←/→ low · medium · high · very-high";
pub fn completion_hint(next: &str, accept: &str) -> String {
    format!("{next} picks a completion · {accept} takes it")
}
pub fn viewer_hint(close: &str) -> String {
    format!("↑/↓ pgup/pgdn scroll · {close} closes")
}
pub fn diff_title(short: &str) -> String {
    format!("Commit {short}")
}
pub const DIFF_LOADING: &str = "reading the diff…";
pub fn session_title(id: &str) -> String {
    format!("Session {id}")
}
pub fn preview_title(path: &str) -> String {
    format!("Preview · {path}")
}
pub fn nothing_to_open(pane: &str) -> String {
    format!("nothing to open in {pane}")
}
pub fn commit_hit(title: &str) -> String {
    format!("{title} is a commit: its diff is in the Commits pane, or run `git show`")
}

// Release review
pub fn release_banner(n: usize, names: &str, command: &str, secs: u64, key: &str) -> String {
    let more = if n > 1 {
        format!(" (+{} more)", n - 1)
    } else {
        String::new()
    };
    format!("🔒 {command} asks for secrets {names}{more} · {secs} s left · {key} reviews")
}
pub const RELEASE_TITLE: &str = "Secret release requests";
pub const RELEASE_OTHER: &str = "other project";
pub fn release_arming(secs: u64) -> String {
    format!("wait {secs} s before answering (so a key typed by accident cannot release)")
}
pub fn release_hint(allow: &str, deny: &str, close: &str) -> String {
    format!("{allow} releases · {deny} refuses · {close} goes back (the request waits)")
}
pub const RELEASE_GONE: &str = "the request was withdrawn or answered elsewhere";
pub fn release_released(names: &str, command: &str) -> String {
    format!("secrets {names} released to {command} (policy: ask first time only)")
}

// Toasts
pub fn theme_now(name: &str) -> String {
    format!("theme: {name} (remembered)")
}
pub fn theme_config_wins(name: &str, cfg: &str) -> String {
    format!("theme: {name} for now — [tui] theme = \"{cfg}\" in config.toml picks the start theme")
}
pub fn mouse_now(on: bool) -> String {
    format!(
        "mouse {}",
        if on {
            "on: click rows and panes"
        } else {
            "off"
        }
    )
}
pub fn scope_now(label: &str) -> String {
    format!("scry scope: {label}")
}
pub const STILL_LOADING: &str = "still loading the project…";
pub const NOT_GIT: &str = "not in a git repository: run `git init` first";
pub fn need_session(key: &str) -> String {
    format!("no active session — press {key} to start one")
}
pub fn session_active(id: &str, key: &str) -> String {
    format!("session {id} is active — end it first ({key})")
}
pub const LOADING_SESSION: &str = "still loading the session…";
pub fn no_goals_yet(key: &str) -> String {
    format!("no goals yet — press {key} to add one")
}
pub fn typed_ahead_dropped(keys: &str) -> String {
    format!("the operation failed, so the keys typed after it were not applied: {keys}")
}
pub const DAEMON_DIED: &str = "the daemon stopped answering; starting it again";

// No git
pub const NO_GIT_TITLE: &str = "patina needs a git repository";
pub fn no_git_lines(cwd: &str, quit: &str) -> Vec<String> {
    vec![
        String::new(),
        format!("{cwd} is not inside one."),
        String::new(),
        "Sessions are git tags and beliefs live in the repository, so run:".into(),
        "  git init && patina init".into(),
        "then start `patina tui` again.".into(),
        String::new(),
        format!("{quit} quits"),
    ]
}
pub fn too_small(w: u16, h: u16) -> String {
    format!("patina: {w}×{h} is too small")
}
