//! The cockpit: the state machine (`App::update`), snapshots of every pane and popup at 60×20
//! and 120×40, no panic at any size, and the real binary under tmux (panic restores the
//! terminal; the end-to-end session flow with the default keys).

mod common;

use chrono::{DateTime, FixedOffset};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use patina::tui::action::{Action, Effect, Msg};
use patina::tui::app::{App, Pane, Popup};
use patina::tui::keymap::{Keymap, KeysConfig};
use patina::tui::model::*;
use patina::tui::theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn now() -> DateTime<FixedOffset> {
    t("2026-11-29T15:30:00+01:00")
}

fn key(c: char) -> Action {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Action::Key(KeyEvent::new(KeyCode::Char(c), mods))
}

fn code(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn typed(app: &mut App, s: &str) -> Vec<Effect> {
    let mut fx = vec![];
    for c in s.chars() {
        fx.extend(app.update(key(c)));
    }
    fx
}

fn session() -> SessionView {
    SessionView {
        id: "20261129-141503".into(),
        title: "security-hardening review".into(),
        branch: "main".into(),
        llm: "claude".into(),
        started: Some(t("2026-11-29T14:15:03+01:00")),
        starting_commit: Some("0dd3b9c".into()),
        goals: vec![
            Goal {
                index: 1,
                text: "fix bug 2".into(),
                done: true,
            },
            Goal {
                index: 2,
                text: "review phase 3".into(),
                done: false,
            },
        ],
        activity: vec![
            ActivityEntry {
                time: "2026-11-29 14:15".into(),
                heading: "Session Start".into(),
                body: "Goal: harden the socket handling".into(),
            },
            ActivityEntry {
                time: "2026-11-29 14:40".into(),
                heading: "Note [main@0dd3b9c]".into(),
                body: "found the cause: the stale-socket cleanup unlinks a live daemon's socket"
                    .into(),
            },
            ActivityEntry {
                time: "2026-11-29 15:05".into(),
                heading: "Update".into(),
                body: "**Git Activity:** commits 2, files changed 3 (+120 −40)".into(),
            },
        ],
        stale: false,
    }
}

fn commits() -> Vec<CommitRow> {
    vec![
        CommitRow {
            sha: "4be1f0a9c0".into(),
            short: "4be1f0a".into(),
            subject: "serve: remove a socket only when connect is refused".into(),
            time: t("2026-11-29T15:22:00+01:00"),
            files: 2,
        },
        CommitRow {
            sha: "9ac3e11b77".into(),
            short: "9ac3e11".into(),
            subject: "serve: lock file + ping-based liveness".into(),
            time: t("2026-11-29T14:51:00+01:00"),
            files: 3,
        },
    ]
}

fn beliefs() -> Vec<BeliefRow> {
    vec![
        BeliefRow {
            id: "ping-before-unlink".into(),
            statement: "Remove a socket only after a connect to it is refused.".into(),
            entrenchment: "high".into(),
            this_session: true,
            path: "/p/layer/surface/epistemic/beliefs/ping-before-unlink.md".into(),
        },
        BeliefRow {
            id: "measure-first".into(),
            statement: "Measure before optimising.".into(),
            entrenchment: "medium".into(),
            this_session: false,
            path: "/p/layer/surface/epistemic/beliefs/measure-first.md".into(),
        },
    ]
}

fn scry_view() -> ScryView {
    ScryView {
        backend: None,
        query: "stale socket".into(),
        mode: "lexical".into(),
        took_ms: 4,
        hits: vec![
            ScryHitView {
                source: None,
                root: None,
                kind: "belief".into(),
                title: "ping-before-unlink".into(),
                path: "layer/surface/epistemic/beliefs/ping-before-unlink.md".into(),
                line: 1,
                snippet: "Remove a socket only after a connect to it is refused.".into(),
                score: 0.9,
            },
            ScryHitView {
                source: None,
                root: None,
                kind: "code".into(),
                title: "src/serve/server.rs".into(),
                path: "src/serve/server.rs".into(),
                line: 42,
                snippet: "fn remove_stale_socket(path: &Path) -> io::Result<()> {".into(),
                score: 0.5,
            },
        ],
        notes: vec!["semantic: no embedding model".into()],
    }
}

/// A fresh app in a ready project with no data yet.
fn bare() -> App {
    let (themes, _) = theme::load_all(std::path::Path::new("/nonexistent"));
    let mut app = App::new(now(), Keymap::default(), themes, 0);
    app.update(Action::Msg(Msg::Project(ProjectState::Ready {
        root: "/p".into(),
        name: "demo".into(),
    })));
    app
}

/// An app with a session, commits, beliefs, scry results and status.
fn full() -> App {
    let mut app = bare();
    for m in [
        Msg::Session(Feed::Ready(Some(session()))),
        Msg::Commits(Feed::Ready(commits())),
        Msg::Beliefs(Feed::Ready(beliefs())),
        Msg::Daemon(DaemonState::Up {
            version: "0.12.0".into(),
            protocol: "1".into(),
        }),
        Msg::Model(ModelState::Lexical("no embedding model".into())),
        Msg::Secrets(Feed::Ready(vec![VaultView {
            vault_id: "v1".into(),
            locked: false,
            expires_at: Some(t("2026-11-29T15:39:32+01:00")),
        }])),
        Msg::Agent(AgentState::Busy),
    ] {
        app.update(Action::Msg(m));
    }
    app.scry_input.set("stale socket");
    app.scry_seq = 1;
    app.update(Action::Msg(Msg::Scry {
        seq: 1,
        result: Ok(scry_view()),
    }));
    app
}

fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| patina::tui::ui::draw(app, f)).unwrap();
    term
}

fn snap(name: &str, app: &mut App) {
    for (w, h) in [(60u16, 20u16), (120, 40)] {
        app.update(Action::Resize(w, h));
        let term = render(app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), term.backend());
    }
}

mod state {
    use super::*;

    #[test]
    fn q_quits_and_asks_the_runtime_to() {
        let mut app = full();
        let fx = app.update(key('q'));
        assert!(app.quit);
        assert_eq!(fx, vec![Effect::Quit]);
    }

    #[test]
    fn tab_and_shift_tab_cycle_focus() {
        let mut app = bare();
        assert_eq!(app.focus, Pane::Session);
        app.update(code(KeyCode::Tab));
        assert_eq!(app.focus, Pane::Activity);
        app.update(Action::Key(KeyEvent::new(
            KeyCode::BackTab,
            KeyModifiers::SHIFT,
        )));
        app.update(Action::Key(KeyEvent::new(
            KeyCode::BackTab,
            KeyModifiers::SHIFT,
        )));
        assert_eq!(app.focus, Pane::Scry);
    }

    #[test]
    fn start_session_popup_submits_title_and_default_llm() {
        let mut app = bare();
        app.default_llm = "gemini".into();
        app.update(Action::Msg(Msg::Session(Feed::Ready(None))));
        app.update(key('S'));
        assert!(matches!(app.popup, Some(Popup::Start { .. })));
        // Enter with no title is refused in place.
        assert!(app.update(code(KeyCode::Enter)).is_empty());
        typed(&mut app, "fix login race");
        let fx = app.update(code(KeyCode::Enter));
        assert_eq!(
            fx,
            vec![Effect::StartSession {
                title: "fix login race".into(),
                llm: Some("gemini".into())
            }]
        );
        // Keys are ignored while the operation runs; success closes the popup and refreshes.
        assert!(app.update(code(KeyCode::Esc)).is_empty());
        assert!(app.popup.is_some());
        let fx = app.update(Action::Msg(Msg::Done {
            what: "start".into(),
            result: Ok("started".into()),
        }));
        assert!(app.popup.is_none());
        assert_eq!(fx, vec![Effect::Refresh]);
        assert_eq!(app.toast.as_ref().unwrap().text, "started");
    }

    #[test]
    fn start_refused_while_a_session_is_active() {
        let mut app = full();
        app.update(key('S'));
        assert!(app.popup.is_none());
        assert!(app.toast.as_ref().unwrap().text.contains("is active"));
    }

    #[test]
    fn note_needs_a_session_and_keeps_text_on_failure() {
        let mut app = bare();
        app.update(Action::Msg(Msg::Session(Feed::Ready(None))));
        app.update(key('n'));
        assert!(app.popup.is_none());
        assert!(
            app.toast
                .as_ref()
                .unwrap()
                .text
                .contains("no active session")
        );

        let mut app = full();
        app.update(key('n'));
        typed(&mut app, "found it");
        app.update(Action::Paste(" — twice\nreally".into()));
        let fx = app.update(code(KeyCode::Enter));
        assert_eq!(fx, vec![Effect::Note("found it — twice really".into())]);
        app.update(Action::Msg(Msg::Done {
            what: "note".into(),
            result: Err("disk full".into()),
        }));
        match &app.popup {
            Some(Popup::Note { text, busy, error }) => {
                assert_eq!(text.text(), "found it — twice really");
                assert!(!busy);
                assert_eq!(error.as_deref(), Some("disk full"));
            }
            other => panic!("{other:?}"),
        }
        app.update(code(KeyCode::Esc));
        assert!(app.popup.is_none());
    }

    #[test]
    fn unavailable_engine_is_named() {
        let mut app = bare();
        app.update(Action::Msg(Msg::Session(Feed::Unavailable(
            "the session engine is not in this build yet".into(),
        ))));
        app.update(key('S'));
        assert!(app.popup.is_none());
        assert!(
            app.toast
                .as_ref()
                .unwrap()
                .text
                .contains("not in this build")
        );
    }

    #[test]
    fn belief_form_validates_id_as_you_type_and_submits_draft() {
        let mut app = full();
        app.update(key('b'));
        typed(&mut app, "Bad");
        assert!(app.belief_id_hint().unwrap().contains("a-z"));
        for _ in 0..3 {
            app.update(code(KeyCode::Backspace));
        }
        typed(&mut app, "measure-first");
        assert!(app.belief_id_hint().unwrap().contains("already exists"));
        app.update(code(KeyCode::Backspace));
        typed(&mut app, "x");
        assert_eq!(app.belief_id_hint(), None);
        // Enter with no statement points at it.
        app.update(code(KeyCode::Enter));
        match &app.popup {
            Some(Popup::Belief(f)) => {
                assert_eq!(f.field, 1);
                assert!(f.error.as_deref().unwrap().contains("statement"));
            }
            other => panic!("{other:?}"),
        }
        typed(&mut app, "Measure twice");
        app.update(code(KeyCode::Tab)); // evidence
        typed(&mut app, "bench showed it");
        app.update(code(KeyCode::Tab)); // supports
        let fx = typed(&mut app, "ping");
        assert!(fx.contains(&Effect::CompleteLink("ping".into())));
        match &app.popup {
            Some(Popup::Belief(f)) => assert_eq!(f.completions, vec!["ping-before-unlink"]),
            other => panic!("{other:?}"),
        }
        app.update(code(KeyCode::Right)); // accept the completion
        app.update(code(KeyCode::Tab)); // attacks
        app.update(code(KeyCode::Tab)); // facets
        typed(&mut app, "perf, process");
        app.update(code(KeyCode::Tab)); // entrenchment
        app.update(code(KeyCode::Right));
        let fx = app.update(code(KeyCode::Enter));
        assert_eq!(
            fx,
            vec![Effect::CreateBelief(BeliefDraft {
                id: "measure-firsx".into(),
                statement: "Measure twice".into(),
                evidence: vec!["bench showed it".into()],
                supports: vec!["ping-before-unlink".into()],
                attacks: vec![],
                facets: vec!["perf".into(), "process".into()],
                entrenchment: "high".into(),
            })]
        );
    }

    #[test]
    fn scry_newest_query_wins() {
        let mut app = bare();
        app.update(key('/'));
        assert!(app.scry_editing);
        assert_eq!(app.focus, Pane::Scry);
        let fx = typed(&mut app, "so");
        assert_eq!(
            fx,
            vec![
                Effect::Scry {
                    seq: 1,
                    query: "s".into(),
                    all: false,
                },
                Effect::Scry {
                    seq: 2,
                    query: "so".into(),
                    all: false,
                }
            ]
        );
        // 'q' and 'n' are text while typing, not commands.
        typed(&mut app, "q");
        assert!(!app.quit);
        let mut old = scry_view();
        old.query = "so".into();
        app.update(Action::Msg(Msg::Scry {
            seq: 2,
            result: Ok(old),
        }));
        assert!(app.scry.is_none(), "an answer to an older query is dropped");
        app.update(Action::Msg(Msg::Scry {
            seq: 3,
            result: Ok(scry_view()),
        }));
        assert_eq!(app.scry.as_ref().unwrap().hits.len(), 2);
        app.update(code(KeyCode::Down));
        assert_eq!(app.scry_sel, 1);
        app.update(code(KeyCode::Esc));
        assert!(!app.scry_editing);
        let fx = app.update(key('o'));
        assert_eq!(
            fx,
            vec![Effect::OpenEditor {
                path: "/p/src/serve/server.rs".into(),
                line: 42
            }]
        );
    }

    #[test]
    fn scry_scope_toggle_reruns_the_query_in_the_new_scope() {
        let mut app = bare();
        assert!(!app.scry_all);
        assert_eq!(app.scry_scope_label(), "this project");
        // No query yet: the toggle flips the scope and searches nothing.
        let fx = app.update(key('A'));
        assert!(app.scry_all);
        assert_eq!(app.scry_scope_label(), "all projects");
        assert_eq!(app.focus, Pane::Scry);
        assert!(fx.iter().all(|e| !matches!(e, Effect::Scry { .. })));
        app.update(key('/'));
        let fx = typed(&mut app, "so");
        assert_eq!(
            fx.last(),
            Some(&Effect::Scry {
                seq: 3,
                query: "so".into(),
                all: true,
            })
        );
        app.update(code(KeyCode::Esc));
        // Flipping back re-runs the same query in this project; the older answer is dropped.
        let fx = app.update(key('A'));
        assert!(!app.scry_all);
        assert_eq!(
            fx,
            vec![Effect::Scry {
                seq: 4,
                query: "so".into(),
                all: false,
            }]
        );
        app.update(Action::Msg(Msg::Scry {
            seq: 3,
            result: Ok(scry_view()),
        }));
        assert!(app.scry.is_none(), "the all-projects answer came too late");
        // While typing, 'A' is text, not the toggle.
        app.update(key('/'));
        typed(&mut app, "A");
        assert!(!app.scry_all);
        assert_eq!(app.scry_input.text(), "soA");
    }

    #[test]
    fn scry_hit_of_another_project_opens_in_that_project() {
        let mut app = full();
        let mut v = scry_view();
        v.hits[0].source = Some("beta".into());
        v.hits[0].root = Some("/q/beta".into());
        app.update(key('A'));
        app.update(key('/'));
        let fx = typed(&mut app, "x");
        let Some(Effect::Scry { seq, all: true, .. }) = fx.last().cloned() else {
            panic!("no all-projects search: {fx:?}")
        };
        app.update(Action::Msg(Msg::Scry { seq, result: Ok(v) }));
        app.update(code(KeyCode::Esc));
        let fx = app.update(key('o'));
        assert_eq!(
            fx,
            vec![Effect::OpenEditor {
                path: "/q/beta/layer/surface/epistemic/beliefs/ping-before-unlink.md".into(),
                line: 1
            }]
        );
    }

    #[test]
    fn esc_then_key_typed_fast_is_both_keys() {
        let mut app = full();
        app.update(key('/'));
        typed(&mut app, "x");
        let fx = app.update(Action::Key(KeyEvent::new(
            KeyCode::Char('q'),
            KeyModifiers::ALT,
        )));
        assert!(!app.scry_editing);
        assert!(app.quit);
        assert_eq!(fx, vec![Effect::Quit]);
    }

    #[test]
    fn end_previews_then_confirms_with_y() {
        let mut app = full();
        let fx = app.update(key('E'));
        assert_eq!(fx, vec![Effect::PreviewEnd]);
        app.update(Action::Msg(Msg::EndPreview(Ok(vec![
            "Work Type: feature".into(),
        ]))));
        match &app.popup {
            Some(Popup::End { preview, .. }) => {
                assert_eq!(
                    preview,
                    &Feed::Ready(vec!["Work Type: feature".to_string()])
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(app.update(key('y')), vec![Effect::EndSession]);
    }

    #[test]
    fn space_toggles_the_selected_goal() {
        let mut app = full();
        app.update(code(KeyCode::Down));
        assert_eq!(app.update(key(' ')), vec![Effect::ToggleGoal(2)]);
        app.update(key('g'));
        typed(&mut app, "ship it");
        assert_eq!(
            app.update(code(KeyCode::Enter)),
            vec![Effect::AddGoal("ship it".into())]
        );
    }

    #[test]
    fn release_requests_ask_one_at_a_time() {
        let mut app = full();
        let req = |id: &str| ReleaseRequest {
            id: id.into(),
            names: vec!["github-token".into()],
            pid: 4242,
            command: "gh pr create".into(),
        };
        app.update(Action::Msg(Msg::Pending(vec![req("a"), req("b")])));
        assert!(matches!(&app.popup, Some(Popup::Release(r)) if r.id == "a"));
        assert_eq!(
            app.update(key('y')),
            vec![Effect::AnswerRelease {
                id: "a".into(),
                allow: true
            }]
        );
        assert!(matches!(&app.popup, Some(Popup::Release(r)) if r.id == "b"));
        assert_eq!(
            app.update(code(KeyCode::Esc)),
            vec![Effect::AnswerRelease {
                id: "b".into(),
                allow: false
            }]
        );
        assert!(app.popup.is_none());
    }

    #[test]
    fn not_initialised_offers_init() {
        let (themes, _) = theme::load_all(std::path::Path::new("/nonexistent"));
        let mut app = App::new(now(), Keymap::default(), themes, 0);
        app.update(Action::Msg(Msg::Project(ProjectState::NotInitialized {
            root: "/r".into(),
        })));
        assert!(matches!(app.popup, Some(Popup::Init { .. })));
        assert_eq!(app.update(key('y')), vec![Effect::InitProject]);
        app.update(Action::Msg(Msg::Done {
            what: "init".into(),
            result: Ok("initialised".into()),
        }));
        assert!(app.popup.is_none());
    }

    #[test]
    fn stale_session_offers_recovery_once() {
        let mut app = bare();
        let mut s = session();
        s.stale = true;
        app.update(Action::Msg(Msg::Session(Feed::Ready(Some(s.clone())))));
        assert!(matches!(app.popup, Some(Popup::Recover { .. })));
        app.update(key('n'));
        app.update(Action::Msg(Msg::Session(Feed::Ready(Some(s)))));
        assert!(app.popup.is_none());
        app.update(key('R'));
        assert_eq!(app.update(key('y')), vec![Effect::Recover]);
    }

    #[test]
    fn remapped_keys_take_effect_and_conflicts_are_shown() {
        let cfg: KeysConfig =
            toml::from_str("note = \"N\"\nbelief = \"n\"\nhelp = \"b\"\n").unwrap();
        let km = Keymap::load(&cfg);
        let (themes, _) = theme::load_all(std::path::Path::new("/nonexistent"));
        let mut app = App::new(now(), km, themes, 0);
        // b was belief's default: now help, and nothing is reported since belief moved away.
        assert!(app.popup.is_none(), "{:?}", app.popup);
        app.update(Action::Msg(Msg::Project(ProjectState::Ready {
            root: "/p".into(),
            name: "demo".into(),
        })));
        app.update(Action::Msg(Msg::Beliefs(Feed::Ready(vec![]))));
        app.update(key('n'));
        assert!(matches!(app.popup, Some(Popup::Belief(_))));
        app.update(code(KeyCode::Esc));
        app.update(key('b'));
        assert!(matches!(app.popup, Some(Popup::Help { .. })));

        let cfg: KeysConfig = toml::from_str("note = \"q\"\n").unwrap();
        let (themes, _) = theme::load_all(std::path::Path::new("/nonexistent"));
        let app = App::new(now(), Keymap::load(&cfg), themes, 0);
        match &app.popup {
            Some(Popup::Message { lines, .. }) => {
                assert!(lines.join("\n").contains("shadows the default of `quit`"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tick_redraws_only_when_visible_time_changes() {
        let mut app = bare();
        app.update(Action::Msg(Msg::Session(Feed::Ready(Some(session())))));
        app.dirty = false;
        app.update(Action::Tick(t("2026-11-29T15:30:02+01:00")));
        assert!(!app.dirty, "same minute, nothing on screen changed");
        app.update(Action::Tick(t("2026-11-29T15:31:01+01:00")));
        assert!(app.dirty, "elapsed minute changed");
    }

    #[test]
    fn activity_follows_until_scrolled_up() {
        let mut app = full();
        app.update(code(KeyCode::Tab));
        assert_eq!(app.focus, Pane::Activity);
        assert_eq!(app.activity_top, None);
        app.update(key('k'));
        assert_eq!(app.activity_top, Some(1));
        app.update(key('G'));
        assert_eq!(app.activity_top, None);
    }

    #[test]
    fn theme_cycles_and_mouse_toggles() {
        let mut app = bare();
        app.update(key('t'));
        assert_eq!(app.theme().name, "light");
        assert_eq!(app.update(key('m')), vec![Effect::SetMouse(true)]);
    }
}

mod snapshots {
    use super::*;

    #[test]
    fn panes_with_a_session() {
        let mut app = full();
        for pane in Pane::ALL {
            app.focus = pane;
            snap(&format!("pane_{}", pane.title().to_lowercase()), &mut app);
        }
    }

    #[test]
    fn scry_typing() {
        let mut app = full();
        app.update(key('/'));
        snap("scry_typing", &mut app);
    }

    #[test]
    fn scry_all_projects() {
        let mut app = full();
        // The toggle re-runs the query already in the input, now in all projects.
        let fx = app.update(key('A'));
        let Some(Effect::Scry { seq, all: true, .. }) = fx.last().cloned() else {
            panic!("no all-projects search: {fx:?}")
        };
        let mut v = scry_view();
        v.hits[0].source = Some("alpha".into());
        v.hits[1].source = Some("box/api".into());
        app.update(Action::Msg(Msg::Scry { seq, result: Ok(v) }));
        app.update(code(KeyCode::Esc));
        app.toast = None;
        snap("scry_all", &mut app);
    }

    #[test]
    fn session_with_transcript_summary() {
        let mut app = full();
        app.update(Action::Msg(Msg::Transcript(Some(TranscriptView {
            prompt_count: 7,
            last_action: Some((
                t("2026-11-29T15:20:00+01:00"),
                "claude".into(),
                "Edit src/serve/server.rs".into(),
            )),
        }))));
        assert_eq!(app.transcript.as_ref().unwrap().prompt_count, 7);
        snap("session_transcript", &mut app);
        app.update(Action::Msg(Msg::Transcript(None)));
        assert!(app.transcript.is_none());
    }

    #[test]
    fn no_session_and_unavailable() {
        let mut app = bare();
        app.update(Action::Msg(Msg::Session(Feed::Ready(None))));
        app.update(Action::Msg(Msg::Commits(Feed::Ready(vec![]))));
        app.update(Action::Msg(Msg::Beliefs(Feed::Ready(vec![]))));
        app.update(Action::Msg(Msg::Model(ModelState::Installing(
            "42% onnxruntime".into(),
        ))));
        snap("no_session", &mut app);

        let mut app = bare();
        let why = "the session engine is not in this build yet".to_string();
        app.update(Action::Msg(Msg::Session(Feed::Unavailable(why.clone()))));
        app.update(Action::Msg(Msg::Commits(Feed::Unavailable(why))));
        app.update(Action::Msg(Msg::Daemon(DaemonState::Down(
            "not running".into(),
        ))));
        snap("unavailable", &mut app);
    }

    #[test]
    fn outside_git() {
        let (themes, _) = theme::load_all(std::path::Path::new("/nonexistent"));
        let mut app = App::new(now(), Keymap::default(), themes, 0);
        app.update(Action::Msg(Msg::Project(ProjectState::NoGit {
            cwd: "/tmp/somewhere".into(),
        })));
        snap("outside_git", &mut app);
    }

    #[test]
    fn popups() {
        let cases: Vec<(&str, Vec<Action>)> = vec![
            ("popup_help", vec![key('?')]),
            ("popup_note", vec![key('n'), key('h'), key('i')]),
            ("popup_goal", vec![key('g')]),
            ("popup_end", vec![key('E')]),
            ("popup_recover", vec![key('R')]),
            ("popup_belief", vec![key('b'), key('X')]),
        ];
        for (name, actions) in cases {
            let mut app = full();
            for a in actions {
                app.update(a);
            }
            if name == "popup_end" {
                app.update(Action::Msg(Msg::EndPreview(Ok(vec![
                    "Work Type: feature".into(),
                    "Files Changed: 5 · Commits: 2 · Beliefs Captured: 1".into(),
                ]))));
            }
            snap(name, &mut app);
        }

        let mut app = bare();
        app.update(Action::Msg(Msg::Session(Feed::Ready(None))));
        app.update(key('S'));
        snap("popup_start", &mut app);

        let mut app = full();
        app.update(Action::Msg(Msg::Pending(vec![ReleaseRequest {
            id: "r1".into(),
            names: vec!["github-token".into(), "npm-token".into()],
            pid: 4242,
            command: "gh pr create --fill".into(),
        }])));
        snap("popup_release", &mut app);

        let (themes, _) = theme::load_all(std::path::Path::new("/nonexistent"));
        let mut app = App::new(now(), Keymap::default(), themes, 0);
        app.update(Action::Msg(Msg::Project(ProjectState::NotInitialized {
            root: "/home/me/code/demo".into(),
        })));
        snap("popup_init", &mut app);

        let cfg: KeysConfig = toml::from_str("note = \"q\"\nbogus = \"x\"\n").unwrap();
        let (themes, _) = theme::load_all(std::path::Path::new("/nonexistent"));
        let mut app = App::new(now(), Keymap::load(&cfg), themes, 0);
        snap("popup_config_problems", &mut app);
    }

    #[test]
    fn no_panic_at_any_size() {
        let mut apps = vec![full(), bare()];
        for k in ['?', 'b', 'n', 'E', '/'] {
            let mut a = full();
            a.update(key(k));
            apps.push(a);
        }
        for app in &mut apps {
            for w in (0..=130).step_by(3).chain([1, 20, 59, 60, 99, 100]) {
                for h in (0..=45).step_by(2).chain([1, 5, 19, 20]) {
                    app.update(Action::Resize(w, h));
                    let w = w.max(1);
                    let h = h.max(1);
                    render(app, w, h);
                }
            }
        }
    }
}

/// The real binary in a real terminal: a private tmux server per test, killed on drop.
mod tmux {
    use std::path::Path;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use super::common;

    pub struct Tmux {
        socket: String,
    }

    impl Tmux {
        /// Start `script` (run by `sh -c`) in a `w`×`h` window with the env's isolated dirs.
        pub fn start(env: &common::Env, cwd: &Path, script: &str, w: u16, h: u16) -> Tmux {
            let socket = format!(
                "patina-tui-{}-{}",
                std::process::id(),
                env.root.path().file_name().unwrap().to_string_lossy()
            );
            let full = format!(
                "cd '{}' && env PATINA_HOME='{}' XDG_CONFIG_HOME='{}' HOME='{}' GIT_CONFIG_NOSYSTEM=1 \
                 PATINA_BIN='{}' EDITOR=true TERM=xterm-256color sh -c '{}'",
                cwd.display(),
                env.patina_home().display(),
                env.xdg().display(),
                env.home().display(),
                env!("CARGO_BIN_EXE_patina"),
                script.replace('\'', "'\\''"),
            );
            let st = Command::new("tmux")
                .args([
                    "-L",
                    &socket,
                    "-f",
                    "/dev/null",
                    "new-session",
                    "-d",
                    "-s",
                    "t",
                ])
                .args(["-x", &w.to_string(), "-y", &h.to_string(), &full])
                .status()
                .expect("running tmux");
            assert!(st.success(), "tmux new-session failed");
            Tmux { socket }
        }

        pub fn screen(&self) -> String {
            let out = Command::new("tmux")
                .args(["-L", &self.socket, "capture-pane", "-p", "-t", "t"])
                .output()
                .expect("tmux capture-pane");
            String::from_utf8_lossy(&out.stdout).into_owned()
        }

        pub fn display(&self, format: &str) -> String {
            let out = Command::new("tmux")
                .args([
                    "-L",
                    &self.socket,
                    "display-message",
                    "-p",
                    "-t",
                    "t",
                    format,
                ])
                .output()
                .expect("tmux display-message");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }

        /// Poll the screen until `pred` holds (a generous deadline guards against hangs; no
        /// fixed sleeps).
        pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let s = self.screen();
                if pred(&s) {
                    return s;
                }
                if Instant::now() > deadline {
                    panic!("timed out waiting for {what}; screen:\n{s}");
                }
                std::thread::sleep(Duration::from_millis(40));
            }
        }

        pub fn wait_for(&self, text: &str) -> String {
            self.wait(&format!("{text:?}"), |s| s.contains(text))
        }

        /// Send keys (tmux key names or literal text with `-l`).
        pub fn keys(&self, keys: &[&str]) {
            let st = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "t"])
                .args(keys)
                .status()
                .expect("tmux send-keys");
            assert!(st.success());
        }

        pub fn text(&self, text: &str) {
            self.keys(&["-l", text]);
        }
    }

    impl Drop for Tmux {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["-L", &self.socket, "kill-server"])
                .status();
        }
    }
}

mod real_terminal {
    use super::common;
    use super::tmux::Tmux;

    fn no_auto_pull(env: &common::Env) {
        let dir = env.xdg().join("patina");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), "[scry]\nauto_pull = false\n").unwrap();
    }

    #[test]
    fn panic_restores_the_terminal() {
        if !common::require_tool("tmux") {
            return;
        }
        let env = common::Env::new();
        no_auto_pull(&env);
        let repo = env.project("p");
        let _stop = StopDaemon(&env, repo.clone());
        let t = Tmux::start(
            &env,
            &repo,
            "RUST_BACKTRACE=0 PATINA_TUI_PANIC_TEST=1 \"$PATINA_BIN\" tui; echo \"EXIT=$?\"; stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo|isig)$' | tr '\\n' ' '; echo; exec sleep 600",
            100,
            30,
        );
        let s = t.wait("the exit line", |s| {
            s.contains("EXIT=") && s.contains("icanon")
        });
        assert!(s.contains("EXIT=101"), "a panic exits 101:\n{s}");
        assert!(
            s.contains("deliberate panic"),
            "the panic message is shown:\n{s}"
        );
        // Raw mode undone: canonical input, echo and signals are back on.
        assert!(s.contains("icanon") && !s.contains("-icanon"), "{s}");
        assert!(!s.contains("-echo ") && !s.contains("-isig"), "{s}");
        assert_eq!(
            t.display("#{alternate_on}"),
            "0",
            "left the alternate screen"
        );
    }

    #[test]
    fn offers_init_in_a_plain_git_repo_and_quits_with_zero() {
        if !common::require_tool("tmux") {
            return;
        }
        let env = common::Env::new();
        no_auto_pull(&env);
        let repo = env.repo("plain");
        let _stop = StopDaemon(&env, repo.clone());
        let t = Tmux::start(
            &env,
            &repo,
            "\"$PATINA_BIN\" tui; echo \"EXIT=$?\"; exec sleep 600",
            100,
            30,
        );
        t.wait_for("not a patina project yet");
        t.keys(&["y"]);
        t.wait_for("patina project initialised");
        assert!(repo.join(".patina/config.toml").is_file());
        t.keys(&["q"]);
        let s = t.wait_for("EXIT=");
        assert!(s.contains("EXIT=0"), "{s}");
        assert_eq!(t.display("#{alternate_on}"), "0");
    }

    #[test]
    fn outside_git_says_what_is_needed() {
        if !common::require_tool("tmux") {
            return;
        }
        let env = common::Env::new();
        no_auto_pull(&env);
        let dir = env.work().join("nogit");
        std::fs::create_dir_all(&dir).unwrap();
        let _stop = StopDaemon(&env, dir.clone());
        let t = Tmux::start(
            &env,
            &dir,
            "\"$PATINA_BIN\" tui; echo \"EXIT=$?\"; exec sleep 600",
            80,
            24,
        );
        t.wait_for("git init && patina init");
        t.keys(&["q"]);
        let s = t.wait_for("EXIT=");
        assert!(s.contains("EXIT=0"), "{s}");
        assert!(!dir.join(".patina").exists());
    }

    /// Ctrl-Z in a job-control shell: the terminal is restored, the shell says "Stopped",
    /// `fg` brings the cockpit back in its alternate screen.
    #[test]
    fn ctrl_z_restores_and_fg_comes_back() {
        if !common::require_tool("tmux") || !common::require_tool("bash") {
            return;
        }
        let env = common::Env::new();
        no_auto_pull(&env);
        let repo = env.project("z");
        let _stop = StopDaemon(&env, repo.clone());
        let t = Tmux::start(
            &env,
            &repo,
            "PS1=\"ready> \" exec bash --norc --noprofile -i",
            100,
            30,
        );
        t.wait_for("ready>");
        t.text("\"$PATINA_BIN\" tui");
        t.keys(&["Enter"]);
        t.wait_for("? help");
        assert_eq!(t.display("#{alternate_on}"), "1");
        t.keys(&["C-z"]);
        t.wait_for("Stopped");
        assert_eq!(t.display("#{alternate_on}"), "0");
        t.text("stty -a | grep -o -- '-*icanon'");
        t.keys(&["Enter"]);
        let s = t.wait("stty output", |s| {
            s.lines()
                .any(|l| l.trim() == "icanon" || l.trim() == "-icanon")
        });
        assert!(
            s.lines().any(|l| l.trim() == "icanon"),
            "canonical mode is back:\n{s}"
        );
        t.text("fg");
        t.keys(&["Enter"]);
        t.wait("the cockpit to redraw", |s| s.contains("? help"));
        assert_eq!(t.display("#{alternate_on}"), "1");
        t.keys(&["q"]);
        t.wait_for("ready>");
        t.text("echo EXIT=$?");
        t.keys(&["Enter"]);
        let s = t.wait_for("EXIT=");
        assert!(s.contains("EXIT=0"), "{s}");
    }

    /// `o` on a belief hands the terminal to $EDITOR at the file and line, then comes back.
    #[test]
    fn o_opens_the_editor_and_the_cockpit_comes_back() {
        if !common::require_tool("tmux") {
            return;
        }
        let env = common::Env::new();
        no_auto_pull(&env);
        let repo = env.project("ed");
        let _stop = StopDaemon(&env, repo.clone());
        env.ok(
            &repo,
            &[
                "belief",
                "new",
                "--id",
                "edit-me",
                "--statement",
                "Open me in the editor",
            ],
        );
        let args = env.root.path().join("editor-args");
        let editor = env.root.path().join("editor.sh");
        std::fs::write(
            &editor,
            format!(
                "#!/bin/sh\n[ -t 0 ] && [ -t 1 ] && tty=tty || tty=notty\necho \"$tty $*\" > '{}'\n",
                args.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let t = Tmux::start(
            &env,
            &repo,
            &format!(
                "VISUAL= EDITOR='{}' \"$PATINA_BIN\" tui; echo \"EXIT=$?\"; exec sleep 600",
                editor.display()
            ),
            120,
            40,
        );
        t.wait_for("edit-me");
        t.keys(&["Tab"]);
        t.keys(&["Tab"]);
        t.keys(&["Tab"]);
        t.wait_for("┏ Beliefs");
        t.keys(&["o"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !args.exists() {
            assert!(std::time::Instant::now() < deadline, "the editor never ran");
            std::thread::sleep(std::time::Duration::from_millis(40));
        }
        t.wait("the cockpit back", |s| {
            s.contains("┏ Beliefs") && s.contains("? help")
        });
        let got = std::fs::read_to_string(&args).unwrap();
        assert!(
            got.starts_with("tty +1 ") && got.trim_end().ends_with("beliefs/edit-me.md"),
            "{got}"
        );
        assert_eq!(t.display("#{alternate_on}"), "1");
        t.keys(&["q"]);
        let s = t.wait_for("EXIT=");
        assert!(s.contains("EXIT=0"), "{s}");
    }

    /// Issue 7's end-to-end flow with the default keys, checked afterwards with the git CLI.
    #[test]
    fn session_note_belief_commit_scry_end_quit() {
        if !common::require_tool("tmux") {
            return;
        }
        let env = common::Env::new();
        no_auto_pull(&env);
        let repo = env.project("e2e");
        let _stop = StopDaemon(&env, repo.clone());
        let t = Tmux::start(
            &env,
            &repo,
            "\"$PATINA_BIN\" tui; echo \"EXIT=$?\"; exec sleep 600",
            120,
            40,
        );
        t.wait_for("No active session");

        t.keys(&["S"]);
        t.wait_for("Start a session");
        t.text("tui e2e flow");
        t.keys(&["Enter"]);
        t.wait("the session pane", |s| {
            s.contains("tui e2e flow")
                && s.contains("Session Start")
                && !s.contains("Start a session")
        });

        t.keys(&["n"]);
        t.wait_for("Note for the activity log");
        t.text("first note from the cockpit");
        t.keys(&["Enter"]);
        t.wait("the note in Activity", |s| {
            s.contains("first note from the cockpit") && !s.contains("Note for the activity log")
        });

        t.keys(&["b"]);
        t.wait_for("Capture a belief");
        t.text("tui-e2e-belief");
        t.keys(&["Tab"]);
        t.text("The cockpit drives the belief engine");
        t.keys(&["Enter"]);
        t.wait("the belief in Beliefs", |s| {
            s.contains("tui-e2e-belief") && !s.contains("Capture a belief")
        });

        env.commit_file(
            &repo,
            "src/outside.txt",
            "x\n",
            "outside commit from the agent pane",
        );
        t.wait_for("outside commit from the agent pane");

        t.keys(&["/"]);
        t.wait_for("typing in scry");
        t.text("cockpit drives");
        t.wait_for("belief  tui-e2e-belief");
        t.keys(&["Escape"]);
        t.wait("leaving the scry input", |s| !s.contains("typing in scry"));

        t.keys(&["E"]);
        t.wait_for("End the session?");
        t.keys(&["y"]);
        t.wait("the session to end", |s| {
            s.contains("No active session") && !s.contains("End the session?")
        });
        t.keys(&["q"]);
        let s = t.wait_for("EXIT=");
        assert!(s.contains("EXIT=0"), "{s}");

        // Both tags, annotated, with the git CLI.
        let tags = env.git(&repo, &["tag", "-l", "session-*"]);
        let start = tags
            .lines()
            .find(|l| l.ends_with("-start"))
            .unwrap_or_else(|| panic!("{tags}"));
        let end = tags
            .lines()
            .find(|l| l.ends_with("-end"))
            .unwrap_or_else(|| panic!("{tags}"));
        assert_eq!(env.git(&repo, &["cat-file", "-t", start]), "tag");
        assert_eq!(env.git(&repo, &["cat-file", "-t", end]), "tag");
        let id = start
            .trim_start_matches("session-")
            .split('-')
            .take(2)
            .collect::<Vec<_>>()
            .join("-");
        // The end tag points at the commit made from outside.
        assert_eq!(
            env.git(&repo, &["rev-parse", &format!("{end}^{{commit}}")]),
            env.git(&repo, &["rev-parse", "HEAD"])
        );
        // The archived session has the note, the belief and the end.
        let archived = std::fs::read_to_string(repo.join("sessions").join(format!("{id}.md")))
            .unwrap_or_else(|e| panic!("archived session {id}: {e}"));
        assert!(archived.contains("status: archived"), "{archived}");
        assert!(
            archived.contains("first note from the cockpit"),
            "{archived}"
        );
        assert!(archived.contains("tui-e2e-belief"), "{archived}");
        assert!(!repo.join(".patina/local/active-session.md").exists());
        // The belief file, as git sees it.
        let rel = "layer/surface/epistemic/beliefs/tui-e2e-belief.md";
        let belief = std::fs::read_to_string(repo.join(rel)).unwrap();
        assert!(
            belief.contains("The cockpit drives the belief engine"),
            "{belief}"
        );
        assert!(belief.contains(&format!("session-{id}")), "{belief}");
        // The outside commit (`git add -A`) took the belief file with it; the archive is new.
        let committed = env.git(&repo, &["show", &format!("HEAD:{rel}")]);
        assert!(
            committed.contains("The cockpit drives the belief engine"),
            "{committed}"
        );
        let status = env.git(&repo, &["status", "--porcelain", "--untracked-files=all"]);
        assert!(status.contains(&format!("?? sessions/{id}.md")), "{status}");
    }

    /// Stops a daemon the cockpit may have started in this env's PATINA_HOME.
    struct StopDaemon<'a>(&'a common::Env, std::path::PathBuf);

    impl Drop for StopDaemon<'_> {
        fn drop(&mut self) {
            // A daemon the cockpit was still starting when it exited may come up a moment
            // later: stop until the start lock is free and nothing answers.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            loop {
                let _ = self.0.patina(&self.1, &["serve", "stop"]);
                let st = self.0.patina(&self.1, &["serve", "status", "--json"]);
                let running = common::stdout(&st).contains("\"running\": true");
                if !running
                    && std::time::Instant::now() > deadline - std::time::Duration::from_millis(2500)
                {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }

    #[test]
    fn no_terminal_is_a_usage_error() {
        let env = common::Env::new();
        let repo = env.project("p");
        let out = env.patina(&repo, &["tui"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(common::stderr(&out).contains("needs a terminal"));
    }
}
