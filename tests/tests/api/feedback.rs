//! Feedback and complaints end to end: a thread's whole life (open, answered, a follow-up that
//! opens it again, rated once, closed for good), what it may be about (only the person's own
//! records), who may see what (persons, caseworkers of another region), the overdue flag across
//! a weekend, one text per reply, and bodies returned byte for byte.

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use shebao_domain::ports::Clock;
use shebao_domain::staff::StaffRole;
use shebao_infra::schema::{audit_log, jobs};
use shebao_tests::{assert_problem, spawn_app_with, TestApp, TestOptions, STAFF_PASSWORD};

use crate::applications::{applied, bound, demo, staff_in, unemployment, LI, ZHANG, ZHOU};

/// 王芳: flexible employment in Shenzhen; her October pension month is payable.
const WANG: (&str, &str, &str) = ("440300197911231089", "王芳", "A44030000003");

fn complaint(subject: &str, body: &str) -> Value {
    json!({"kind": "complaint", "subject": subject, "body": body, "related": null})
}

async fn send(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.post(path)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Posts `body` and asserts `status`; returns the JSON answer.
async fn sent(app: &TestApp, token: &str, path: &str, body: &Value, status: u16) -> Value {
    let res = send(app, token, path, body).await;
    assert_eq!(
        res.status().as_u16(),
        status,
        "{path}: {}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

async fn file(app: &TestApp, token: &str, body: &Value) -> Value {
    sent(app, token, "/v1/me/feedback", body, 201).await
}

async fn reply(app: &TestApp, staff: &str, id: &str, text: &str) -> reqwest::Response {
    send(
        app,
        staff,
        &format!("/v1/staff/feedback/{id}/messages"),
        &json!({"body": text}),
    )
    .await
}

async fn close(app: &TestApp, staff: &str, id: &str) -> reqwest::Response {
    app.post(&format!("/v1/staff/feedback/{id}/close"))
        .bearer_auth(staff)
        .send()
        .await
        .unwrap()
}

fn authors(thread: &Value) -> Vec<String> {
    thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// The audit entries of `action` about thread `id`.
fn audited(app: &TestApp, action: &str, id: &str) -> Vec<(String, Option<String>)> {
    let mut conn = app.db.connect();
    audit_log::table
        .filter(audit_log::action.eq(action))
        .filter(audit_log::subject_id.eq(id))
        .select((audit_log::actor_kind, audit_log::actor_id))
        .load(&mut conn)
        .unwrap()
}

#[tokio::test]
async fn a_thread_is_answered_followed_up_answered_again_rated_once_and_closed() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800001801", ZHANG).await;
    let t = file(
        &app,
        &token,
        &complaint("窗口等候时间过长", "取号后等了两个多小时。"),
    )
    .await;
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(t["status"], "open");
    assert_eq!(t["kind"], "complaint");
    assert_eq!(t["region"], "440300");
    assert_eq!(t["related"], Value::Null);
    assert_eq!(authors(&t), ["person"]);
    assert_eq!(t["answered_at"], Value::Null);
    assert_eq!(t["can_rate"], false);
    assert_eq!(audited(&app, "feedback.submit", &id).len(), 1);

    // Nothing to rate before an answer.
    let rating = format!("/v1/me/feedback/{id}/rating");
    let res = send(&app, &token, &rating, &json!({"stars": 5})).await;
    assert_problem(res, 409, "feedback_not_answered").await;

    // The Shenzhen caseworker finds it in the queue, waiting, and answers it.
    let cw = staff_in(&app, "cwfeedback", StaffRole::Caseworker, Some("440300")).await;
    let queue = app.get_ok(&cw, "/v1/staff/feedback?status=open").await;
    assert_eq!(ids(&queue), [id.as_str()]);
    let item = &queue["items"][0];
    assert_eq!(item["overdue"], false);
    assert_eq!(at(&item["waiting_since"]), at(&t["created_at"]));
    assert!(item["person_id"].as_str().is_some());
    app.clock.advance(Duration::minutes(10));
    let res = reply(&app, &cw, &id, "您好，已转大厅负责人核查。").await;
    assert_eq!(res.status(), 201);
    let answered: Value = res.json().await.unwrap();
    assert_eq!(answered["status"], "answered");
    assert_eq!(answered["waiting_since"], Value::Null);
    assert_eq!(answered["overdue"], false);
    let first_answer = at(&answered["answered_at"]);
    assert_eq!(first_answer, app.clock.now());
    // The role, never the caseworker's name.
    assert_eq!(authors(&answered), ["person", "caseworker"]);
    assert!(!answered.to_string().contains("cwfeedback"));

    let mine = app.get_ok(&token, &format!("/v1/me/feedback/{id}")).await;
    assert_eq!(mine["status"], "answered");
    assert_eq!(at(&mine["answered_at"]), first_answer);
    assert_eq!(at(&mine["last_reply_at"]), first_answer);
    assert_eq!(mine["can_rate"], true);
    assert_eq!(mine["messages"][1]["body"], "您好，已转大厅负责人核查。");
    assert!(!mine.to_string().contains("cwfeedback"));

    // A follow-up opens it again: it waits for an answer of its own, and cannot be rated now.
    app.clock.advance(Duration::minutes(10));
    let follow = sent(
        &app,
        &token,
        &format!("/v1/me/feedback/{id}/messages"),
        &json!({"body": "请问何时有结果？"}),
        201,
    )
    .await;
    assert_eq!(follow["status"], "open");
    assert_eq!(at(&follow["answered_at"]), first_answer);
    assert_eq!(follow["can_rate"], false);
    let res = send(&app, &token, &rating, &json!({"stars": 5})).await;
    assert_problem(res, 409, "feedback_not_answered").await;
    let queue = app.get_ok(&cw, "/v1/staff/feedback?status=open").await;
    assert_eq!(at(&queue["items"][0]["waiting_since"]), app.clock.now());

    // An admin answers the follow-up: the first answer's time stays, the last one moves.
    app.clock.advance(Duration::minutes(10));
    let admin = staff_in(&app, "adminfeedback", StaffRole::Admin, None).await;
    let res = reply(&app, &admin, &id, "已增开窗口。").await;
    assert_eq!(res.status(), 201);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["status"], "answered");
    assert_eq!(at(&again["answered_at"]), first_answer);
    assert_eq!(at(&again["last_reply_at"]), app.clock.now());
    assert_eq!(authors(&again), ["person", "caseworker", "person", "admin"]);

    // Rated once.
    let res = send(&app, &token, &rating, &json!({"stars": 0})).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "stars");
    let res = send(&app, &token, &rating, &json!({"stars": 6})).await;
    assert_problem(res, 422, "validation_failed").await;
    let rated = sent(
        &app,
        &token,
        &rating,
        &json!({"stars": 4, "comment": "答复及时。"}),
        201,
    )
    .await;
    assert_eq!(rated["rating"]["stars"], 4);
    assert_eq!(rated["rating"]["comment"], "答复及时。");
    assert_eq!(rated["can_rate"], false);
    let res = send(&app, &token, &rating, &json!({"stars": 1})).await;
    assert_problem(res, 409, "feedback_already_rated").await;

    // Closed for good: no message from either side, no second close.
    let res = close(&app, &cw, &id).await;
    assert_eq!(res.status(), 200);
    let closed: Value = res.json().await.unwrap();
    assert_eq!(closed["status"], "closed");
    assert_eq!(at(&closed["closed_at"]), app.clock.now());
    let res = send(
        &app,
        &token,
        &format!("/v1/me/feedback/{id}/messages"),
        &json!({"body": "还有问题"}),
    )
    .await;
    assert_problem(res, 409, "feedback_closed").await;
    assert_problem(reply(&app, &cw, &id, "补充").await, 409, "feedback_closed").await;
    assert_problem(close(&app, &admin, &id).await, 409, "feedback_closed").await;
    let mine = app.get_ok(&token, &format!("/v1/me/feedback/{id}")).await;
    assert_eq!(mine["messages"].as_array().unwrap().len(), 4);
    assert_eq!(mine["rating"]["stars"], 4);

    // Every staff action is audited, by the staff member who took it.
    let replies = audited(&app, "feedback.reply", &id);
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies
        .iter()
        .all(|(kind, who)| kind == "staff" && who.is_some()));
    assert_eq!(audited(&app, "feedback.close", &id).len(), 1);
    assert_eq!(audited(&app, "feedback.message", &id).len(), 1);
    assert_eq!(audited(&app, "feedback.rate", &id).len(), 1);
}

#[tokio::test]
async fn closed_unanswered_is_not_rated_and_lists_go_by_activity_and_age() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800001802", ZHANG).await;
    let admin = staff_in(&app, "adminlists", StaffRole::Admin, None).await;
    let mut threads = Vec::new();
    for (i, kind) in ["app", "service", "complaint"].iter().enumerate() {
        let t = file(
            &app,
            &token,
            &json!({"kind": kind, "subject": format!("第{i}条"), "body": "内容"}),
        )
        .await;
        threads.push(t["id"].as_str().unwrap().to_owned());
        app.clock.advance(Duration::minutes(1));
    }
    // The person's list: the latest activity first, a page at a time.
    let list = app.get_ok(&token, "/v1/me/feedback?limit=2").await;
    assert_eq!(ids(&list), [threads[2].clone(), threads[1].clone()]);
    let cursor = list["next_cursor"].as_str().unwrap();
    let rest = app
        .get_ok(&token, &format!("/v1/me/feedback?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&rest), [threads[0].clone()]);
    assert_eq!(rest["next_cursor"], Value::Null);
    // The staff queue: the longest waiting first; kind filters.
    let queue = app.get_ok(&admin, "/v1/staff/feedback").await;
    assert_eq!(ids(&queue), threads);
    let queue = app
        .get_ok(&admin, "/v1/staff/feedback?kind=service&limit=1")
        .await;
    assert_eq!(ids(&queue), [threads[1].clone()]);
    assert_eq!(queue["next_cursor"], Value::Null);
    let res = app
        .get("/v1/staff/feedback?status=pending")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "status");

    // Answering the oldest makes it the person's latest; in the queue it goes after the
    // waiting ones, and page by page the queue holds every thread once.
    assert_eq!(
        reply(&app, &admin, &threads[0], "已收到").await.status(),
        201
    );
    let list = app.get_ok(&token, "/v1/me/feedback").await;
    assert_eq!(ids(&list)[0], threads[0]);
    let page = app.get_ok(&admin, "/v1/staff/feedback?limit=2").await;
    assert_eq!(ids(&page), [threads[1].clone(), threads[2].clone()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = app
        .get_ok(
            &admin,
            &format!("/v1/staff/feedback?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(ids(&page), [threads[0].clone()]);

    // Closed without an answer: nothing to rate. Closed after one: rated once.
    assert_eq!(close(&app, &admin, &threads[1]).await.status(), 200);
    let res = send(
        &app,
        &token,
        &format!("/v1/me/feedback/{}/rating", threads[1]),
        &json!({"stars": 3}),
    )
    .await;
    assert_problem(res, 409, "feedback_not_answered").await;
    assert_eq!(close(&app, &admin, &threads[0]).await.status(), 200);
    let rated = sent(
        &app,
        &token,
        &format!("/v1/me/feedback/{}/rating", threads[0]),
        &json!({"stars": 2}),
        201,
    )
    .await;
    assert_eq!(rated["status"], "closed");
    assert_eq!(rated["rating"]["stars"], 2);
    assert_eq!(rated["rating"]["comment"], Value::Null);
    let closed = app.get_ok(&admin, "/v1/staff/feedback?status=closed").await;
    assert_eq!(ids(&closed).len(), 2);
}

#[tokio::test]
async fn a_thread_may_name_only_the_persons_own_application_or_payment() {
    let app = demo().await;
    let (zhang, _) = bound(&app, "+8613800001803", ZHANG).await;
    let (li, _) = bound(&app, "+8613800001804", LI).await;
    let application = applied(
        &app,
        &zhang,
        "feedback-app-1",
        "unemployment_benefit",
        unemployment(),
    )
    .await;
    let app_id = application["id"].as_str().unwrap();
    let about = |related: Value| json!({"kind": "service", "subject": "申请进度", "body": "请问进度？", "related": related});

    // Another person's application and one that does not exist get the same answer.
    let res = send(
        &app,
        &li,
        "/v1/me/feedback",
        &about(json!({"application_id": app_id})),
    )
    .await;
    let other = assert_problem(res, 422, "related_not_found").await;
    let res = send(
        &app,
        &li,
        "/v1/me/feedback",
        &about(json!({"application_id": "0193a3c0-5b7e-7d2a-9c1f-2b4e6a8c0d1e"})),
    )
    .await;
    let none = assert_problem(res, 422, "related_not_found").await;
    assert_eq!(other["detail"], none["detail"]);
    let t = file(&app, &zhang, &about(json!({"application_id": app_id}))).await;
    assert_eq!(t["related"], json!({"application_id": app_id}));

    // A payment: 王芳's own, not 张伟's.
    let (_, wang) = bound(&app, "+8613800001805", WANG).await;
    let res = app
        .post("/v1/me/payments")
        .bearer_auth(&wang)
        .header("Idempotency-Key", "feedback-pay-1")
        .json(&json!({"payables": ["arrears_month:2026-10:pension"], "channel": "wechat"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let payment: Value = res.json().await.unwrap();
    let pay_id = payment["id"].as_str().unwrap();
    let res = send(
        &app,
        &zhang,
        "/v1/me/feedback",
        &about(json!({"payment_id": pay_id})),
    )
    .await;
    let body = assert_problem(res, 422, "related_not_found").await;
    assert!(!body.to_string().contains(pay_id), "{body}");
    let t = file(&app, &wang, &about(json!({"payment_id": pay_id}))).await;
    assert_eq!(t["related"], json!({"payment_id": pay_id}));

    // An institution: one the registry holds (the demo's 深圳市人民医院), not a made-up code.
    let res = send(
        &app,
        &zhang,
        "/v1/me/feedback",
        &about(json!({"institution_code": "H44030300001"})),
    )
    .await;
    assert_problem(res, 422, "related_not_found").await;
    let t = file(
        &app,
        &zhang,
        &about(json!({"institution_code": "H440303001"})),
    )
    .await;
    assert_eq!(t["related"], json!({"institution_code": "H440303001"}));
    let listed = app.get_ok(&zhang, "/v1/me/feedback").await;
    assert_eq!(
        listed["items"][0]["related"],
        json!({"institution_code": "H440303001"})
    );

    // Malformed: each named by its field.
    for (related, field) in [
        (
            json!({"institution_code": "H 1"}),
            "related.institution_code",
        ),
        (
            json!({"application_id": "not-a-uuid"}),
            "related.application_id",
        ),
        (json!({"application_id": 5}), "related.application_id"),
        (
            json!({"application_id": app_id, "institution_code": "H1"}),
            "related",
        ),
        (json!({}), "related"),
        (json!({"employer_id": "x"}), "related"),
        (json!("H1"), "related"),
    ] {
        let res = send(&app, &zhang, "/v1/me/feedback", &about(related.clone())).await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], field, "{related}: {body}");
    }
}

#[tokio::test]
async fn a_person_sees_only_their_own_threads() {
    let app = demo().await;
    let (zhang, _) = bound(&app, "+8613800001806", ZHANG).await;
    let (li, _) = bound(&app, "+8613800001807", LI).await;
    let t = file(&app, &zhang, &complaint("私人", "只给张伟看")).await;
    let id = t["id"].as_str().unwrap();
    let admin = staff_in(&app, "adminbola", StaffRole::Admin, None).await;
    assert_eq!(reply(&app, &admin, id, "已答复").await.status(), 201);

    let res = app
        .get(&format!("/v1/me/feedback/{id}"))
        .bearer_auth(&li)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    for (path, body) in [
        (
            format!("/v1/me/feedback/{id}/messages"),
            json!({"body": "x"}),
        ),
        (format!("/v1/me/feedback/{id}/rating"), json!({"stars": 1})),
    ] {
        let res = send(&app, &li, &path, &body).await;
        assert_problem(res, 404, "not_found").await;
    }
    let list = app.get_ok(&li, "/v1/me/feedback").await;
    assert_eq!(list["items"], json!([]));
    // Nothing changed for 张伟.
    let mine = app.get_ok(&zhang, &format!("/v1/me/feedback/{id}")).await;
    assert_eq!(mine["messages"].as_array().unwrap().len(), 2);
    assert_eq!(mine["rating"], Value::Null);
    // A staff token is not a person's; a person's is not the staff's.
    let res = app
        .get("/v1/me/feedback")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    let res = app
        .get("/v1/staff/feedback")
        .bearer_auth(&zhang)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    // Not a UUID: as absent.
    let res = app
        .get("/v1/me/feedback/not-a-thread")
        .bearer_auth(&zhang)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_caseworker_sees_and_answers_only_their_regions_threads() {
    let app = demo().await;
    let (zhou, _) = bound(&app, "+8613800001808", ZHOU).await;
    let (zhang, _) = bound(&app, "+8613800001809", ZHANG).await;
    let beijing = file(&app, &zhou, &complaint("北京的事", "内容")).await;
    let bj = beijing["id"].as_str().unwrap();
    assert_eq!(beijing["region"], "110000");
    let shenzhen = file(&app, &zhang, &complaint("深圳的事", "内容")).await;
    let sz = shenzhen["id"].as_str().unwrap();

    let cw_sz = staff_in(&app, "cwsz", StaffRole::Caseworker, Some("440300")).await;
    let cw_bj = staff_in(&app, "cwbj", StaffRole::Caseworker, Some("110000")).await;
    let admin = staff_in(&app, "adminregions", StaffRole::Admin, None).await;

    assert_eq!(
        ids(&app.get_ok(&cw_sz, "/v1/staff/feedback").await),
        [sz.to_owned()]
    );
    assert_eq!(
        ids(&app.get_ok(&cw_bj, "/v1/staff/feedback").await),
        [bj.to_owned()]
    );
    assert_eq!(
        ids(&app.get_ok(&admin, "/v1/staff/feedback").await),
        [bj.to_owned(), sz.to_owned()]
    );
    assert_eq!(
        ids(&app.get_ok(&admin, "/v1/staff/feedback?region=110000").await),
        [bj.to_owned()]
    );
    let res = app
        .get("/v1/staff/feedback?region=110000")
        .bearer_auth(&cw_sz)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;

    // Another region's thread is, for the Shenzhen caseworker, a thread that does not exist.
    let res = app
        .get(&format!("/v1/staff/feedback/{bj}"))
        .bearer_auth(&cw_sz)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    assert_problem(reply(&app, &cw_sz, bj, "越权").await, 404, "not_found").await;
    assert_problem(close(&app, &cw_sz, bj).await, 404, "not_found").await;
    let untouched = app.get_ok(&zhou, &format!("/v1/me/feedback/{bj}")).await;
    assert_eq!(untouched["status"], "open");
    assert_eq!(authors(&untouched), ["person"]);

    // The Beijing caseworker answers it; the admin reads it too.
    assert_eq!(reply(&app, &cw_bj, bj, "已处理").await.status(), 201);
    let seen = app
        .get_ok(&admin, &format!("/v1/staff/feedback/{bj}"))
        .await;
    assert_eq!(seen["status"], "answered");
    assert_eq!(authors(&seen), ["person", "caseworker"]);
}

/// Signs the staff member in again (the clock moved past their token's hour).
async fn signed_in(app: &TestApp, username: &str) -> String {
    let res = app.login(username, STAFF_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn staff_thread(app: &TestApp, token: &str, id: &str) -> Value {
    app.get_ok(token, &format!("/v1/staff/feedback/{id}")).await
}

#[tokio::test]
async fn unanswered_for_five_working_days_is_overdue_and_the_weekend_does_not_count() {
    // Friday 2026-11-27, 15:00 in Shenzhen (07:00 UTC).
    let app = spawn_app_with(TestOptions {
        demo_seed: true,
        start: Utc.with_ymd_and_hms(2026, 11, 27, 7, 0, 0).unwrap(),
        env: vec![("SHEBAO_ACCESS_TOKEN_TTL_SECS", "3600".into())],
    })
    .await;
    let (zhang, _) = bound(&app, "+8613800001810", ZHANG).await;
    let friday = file(&app, &zhang, &complaint("周五下午的投诉", "内容")).await;
    let friday_id = friday["id"].as_str().unwrap().to_owned();
    let filed = at(&friday["created_at"]);
    staff_in(&app, "cwoverdue", StaffRole::Caseworker, Some("440300")).await;
    let to = |t: DateTime<Utc>| app.clock.advance(t - app.clock.now());

    // Due the next Friday at the same time: five working days, the weekend not counted.
    let cw = signed_in(&app, "cwoverdue").await;
    let seen = staff_thread(&app, &cw, &friday_id).await;
    assert_eq!(at(&seen["answer_due"]), filed + Duration::days(7));
    assert_eq!(seen["overdue"], false);

    // Five calendar days on (Wednesday): not overdue. A thread filed now is due next Wednesday.
    to(filed + Duration::days(5));
    let (li, _) = bound(&app, "+8613800001811", LI).await;
    let wednesday = file(&app, &li, &complaint("周三的投诉", "内容")).await;
    let wednesday_id = wednesday["id"].as_str().unwrap().to_owned();
    let cw = signed_in(&app, "cwoverdue").await;
    let seen = staff_thread(&app, &cw, &friday_id).await;
    assert_eq!(seen["overdue"], false);

    // One second before the due time: not yet; at it: overdue, and first in the queue.
    to(filed + Duration::days(7) - Duration::seconds(1));
    let cw = signed_in(&app, "cwoverdue").await;
    let queue = app.get_ok(&cw, "/v1/staff/feedback").await;
    assert_eq!(ids(&queue), [friday_id.clone(), wednesday_id.clone()]);
    assert_eq!(queue["items"][0]["overdue"], false);
    to(filed + Duration::days(7));
    let queue = app.get_ok(&cw, "/v1/staff/feedback").await;
    assert_eq!(ids(&queue), [friday_id.clone(), wednesday_id.clone()]);
    assert_eq!(queue["items"][0]["overdue"], true);
    assert_eq!(queue["items"][1]["overdue"], false);
    let seen = staff_thread(&app, &cw, &friday_id).await;
    assert_eq!(seen["overdue"], true);

    // Answered: no longer waiting, no longer overdue; the waiting thread leads the queue.
    let res = reply(&app, &cw, &friday_id, "抱歉久等。").await;
    assert_eq!(res.status(), 201);
    let answered: Value = res.json().await.unwrap();
    assert_eq!(answered["overdue"], false);
    assert_eq!(answered["answer_due"], Value::Null);
    let queue = app.get_ok(&cw, "/v1/staff/feedback").await;
    assert_eq!(ids(&queue), [wednesday_id.clone(), friday_id.clone()]);
    assert_eq!(queue["items"][1]["status"], "answered");

    // The Wednesday thread is due the next Wednesday, across this weekend.
    to(at(&wednesday["created_at"]) + Duration::days(7) - Duration::seconds(1));
    let cw = signed_in(&app, "cwoverdue").await;
    assert_eq!(
        staff_thread(&app, &cw, &wednesday_id).await["overdue"],
        false
    );
    to(at(&wednesday["created_at"]) + Duration::days(7));
    assert_eq!(
        staff_thread(&app, &cw, &wednesday_id).await["overdue"],
        true
    );
}

/// The texts about answers that reached `phone`, once `expected` have come or 30 s passed.
async fn answer_texts(app: &TestApp, phone: &str, expected: usize) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let texts: Vec<String> = app
            .sms_messages(phone)
            .await
            .iter()
            .filter_map(|m| m["body"].as_str())
            .filter(|b| b.contains("答复"))
            .map(str::to_owned)
            .collect();
        if texts.len() >= expected || started.elapsed() > std::time::Duration::from_secs(30) {
            return texts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn each_staff_reply_texts_the_person_once() {
    let app = demo().await;
    let phone = "+8613800001812";
    let (token, _) = bound(&app, phone, ZHANG).await;
    let t = file(&app, &token, &complaint("短信", "内容")).await;
    let id = t["id"].as_str().unwrap();
    let cw = staff_in(&app, "cwsms", StaffRole::Caseworker, Some("440300")).await;
    assert_eq!(reply(&app, &cw, id, "第一次答复").await.status(), 201);
    sent(
        &app,
        &token,
        &format!("/v1/me/feedback/{id}/messages"),
        &json!({"body": "追问"}),
        201,
    )
    .await;
    assert_eq!(reply(&app, &cw, id, "第二次答复").await.status(), 201);

    let texts = answer_texts(&app, phone, 2).await;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts
        .iter()
        .all(|t| t.contains("投诉") && t.starts_with("【社保】")));
    // Nothing of what was written goes into the text.
    assert!(
        texts
            .iter()
            .all(|t| !t.contains("第一次") && !t.contains("第二次")),
        "{texts:?}"
    );
    // One job per reply, and no more come.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(answer_texts(&app, phone, 3).await.len(), 2);
    let mut conn = app.db.connect();
    let keys: Vec<Option<String>> = jobs::table
        .filter(jobs::dedupe_key.like(format!("sms:event:feedback:{id}:%")))
        .select(jobs::dedupe_key)
        .load(&mut conn)
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
}

#[tokio::test]
async fn bodies_come_back_byte_for_byte_and_control_characters_are_refused() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800001813", ZHANG).await;
    let subject = r#"<b>"标题"</b> & 'x' \ </script>"#;
    let body = "  <script>alert(\"hi\")</script>\n\t'单引号' & \"双引号\" \\ 反斜杠\r\n😀 <img src=x onerror=alert(1)> 末尾空格  ";
    let res = send(&app, &token, "/v1/me/feedback", &complaint(subject, body)).await;
    assert_eq!(res.status(), 201);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let raw = res.text().await.unwrap();
    // JSON-escaped: the quotes and the line breaks are escapes, no raw line break is sent.
    assert!(raw.contains(r#"\"双引号\""#), "{raw}");
    assert!(raw.contains(r"\r\n😀"), "{raw}");
    assert!(!raw.contains('\n') && !raw.contains('\r'), "{raw}");
    let t: Value = serde_json::from_str(&raw).unwrap();
    let id = t["id"].as_str().unwrap();
    let mine = app.get_ok(&token, &format!("/v1/me/feedback/{id}")).await;
    assert_eq!(mine["subject"].as_str().unwrap(), subject);
    assert_eq!(mine["messages"][0]["body"].as_str().unwrap(), body);
    let admin = staff_in(&app, "adminbytes", StaffRole::Admin, None).await;
    let staff_text = "回复：<a href=\"javascript:x\">链接</a>\n\t末行 ";
    assert_eq!(reply(&app, &admin, id, staff_text).await.status(), 201);
    let seen = app
        .get_ok(&admin, &format!("/v1/staff/feedback/{id}"))
        .await;
    assert_eq!(seen["messages"][0]["body"].as_str().unwrap(), body);
    assert_eq!(seen["messages"][1]["body"].as_str().unwrap(), staff_text);
    let queue = app.get_ok(&admin, "/v1/staff/feedback").await;
    assert_eq!(queue["items"][0]["subject"].as_str().unwrap(), subject);

    // The subject is trimmed (a title); the body is not.
    let t = file(&app, &token, &complaint("  两边有空格  ", " 正文 ")).await;
    assert_eq!(t["subject"], "两边有空格");
    assert_eq!(t["messages"][0]["body"], " 正文 ");

    // Refused, each named by its field and why.
    let long_body = "长".repeat(2001);
    let long_subject = "长".repeat(101);
    for (subject, body, field, code) in [
        ("标题", "a\u{0}b", "body", "control_character"),
        ("标题", "a\rb", "body", "control_character"),
        ("标题", "\u{1b}[31m红", "body", "control_character"),
        ("标题", "a\u{85}b", "body", "control_character"),
        ("标题", " \n\t ", "body", "empty"),
        ("标题", long_body.as_str(), "body", "too_long"),
        ("两\n行", "正文", "subject", "control_character"),
        ("a\tb", "正文", "subject", "control_character"),
        ("   ", "正文", "subject", "empty"),
        (long_subject.as_str(), "正文", "subject", "too_long"),
    ] {
        let res = send(&app, &token, "/v1/me/feedback", &complaint(subject, body)).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{subject:?} {body:?}");
        assert_eq!(problem["errors"][0]["code"], code, "{subject:?} {body:?}");
    }
    // 2,000 characters exactly are taken.
    file(&app, &token, &complaint("长文", &"长".repeat(2000))).await;
    // The same rules for a follow-up, a reply and a rating's comment.
    let res = send(
        &app,
        &token,
        &format!("/v1/me/feedback/{id}/messages"),
        &json!({"body": "x\u{7}"}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    assert_problem(reply(&app, &admin, id, "").await, 422, "validation_failed").await;
    let res = send(
        &app,
        &token,
        &format!("/v1/me/feedback/{id}/rating"),
        &json!({"stars": 5, "comment": "\u{0}"}),
    )
    .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "comment");
    // An unknown kind or field is refused too.
    let res = send(
        &app,
        &token,
        "/v1/me/feedback",
        &json!({"kind": "praise", "subject": "s", "body": "b"}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = send(
        &app,
        &token,
        "/v1/me/feedback",
        &json!({"kind": "app", "subject": "s", "body": "b", "priority": "high"}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn the_same_key_answers_the_same_thread_and_another_body_is_refused() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800001814", ZHANG).await;
    let body = complaint("重复提交", "手机重试");
    let post = |key: Option<&'static str>, body: Value| {
        let mut req = app.post("/v1/me/feedback").bearer_auth(&token).json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send()
    };
    let res = post(Some("feedback-key-1"), body.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("idempotent-replayed").is_none());
    let first: Value = res.json().await.unwrap();
    let res = post(Some("feedback-key-1"), body.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let res = post(Some("feedback-key-1"), complaint("重复提交", "另一段"))
        .await
        .unwrap();
    assert_problem(res, 422, "idempotency_key_reused").await;
    let res = post(Some("short"), body.clone()).await.unwrap();
    assert_problem(res, 400, "idempotency_key_required").await;
    // Without a key, each request is a thread of its own.
    assert_eq!(post(None, body.clone()).await.unwrap().status(), 201);
    assert_eq!(post(None, body).await.unwrap().status(), 201);
    let list = app.get_ok(&token, "/v1/me/feedback").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn replies_at_the_same_moment_all_land_each_texted_once() {
    let app = demo().await;
    let (token, _) = bound(&app, "+8613800001815", ZHANG).await;
    let t = file(&app, &token, &complaint("同时答复", "内容")).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let admin = staff_in(&app, "adminrace", StaffRole::Admin, None).await;
    let replies = (0..8).map(|i| {
        let (app, admin, id) = (&app, &admin, &id);
        async move { reply(app, admin, id, &format!("答复{i}")).await.status() }
    });
    let statuses = futures_util::future::join_all(replies).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let seen = app
        .get_ok(&admin, &format!("/v1/staff/feedback/{id}"))
        .await;
    assert_eq!(seen["status"], "answered");
    assert_eq!(seen["messages"].as_array().unwrap().len(), 9);
    assert_eq!(seen["answered_at"], seen["last_reply_at"]);
    let mut conn = app.db.connect();
    let queued: i64 = jobs::table
        .filter(jobs::dedupe_key.like(format!("sms:event:feedback:{id}:%")))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(queued, 8);
}
