//! The annual report in SQL, written once for both backends.
//!
//! Every figure is the one [`clbchat_core::statistics`] defines, and the conformance suite
//! checks that these queries give what the in-memory reference gives. All queries of one
//! report run in one read transaction (one snapshot). The two databases differ in two
//! places only, written in each backend's [`Dialect`]: reading the client type out of the
//! profile's JSON, and turning a JSON array (topics, results) into rows.
//!
//! Per-period tables (months, school years) are one query each: the periods go in as a
//! `VALUES` list of `(index, from, until)` joined to the conversations by arrival, so the
//! time-zone arithmetic stays in Rust (local midnights in Brussels) and the counting in SQL.

/// What SQLite and PostgreSQL write differently.
pub(crate) struct Dialect {
    /// An expression for the client type the client chose at the start (`c` is the
    /// conversation).
    pub(crate) profile_client_type: &'static str,
    /// A `FROM` item turning the JSON array in `{col}` into rows of a text column
    /// `je.value`.
    pub(crate) elements: &'static str,
    /// The keyword a join needs to see the tables before it (`LATERAL` on PostgreSQL).
    pub(crate) lateral: &'static str,
}

impl Dialect {
    /// The `FROM` item over the JSON array in column `col`.
    pub(crate) fn elements_of(&self, col: &str) -> String {
        self.elements.replace("{col}", col)
    }
}

/// Expands the report queries as inherent methods of `$backend` for database `$db`; the
/// module provides `DIALECT`, `begin_read`, and the `read` and `write` pools.
macro_rules! report_queries {
    ($backend:ident, $db:ty) => {
        mod report_impl {
            use std::collections::BTreeMap;

            use clbchat_core::event::EndReason;
            use clbchat_core::ids::DeskId;
            use clbchat_core::registration::{ChatResult, ClientType, FoundVia, Gender};
            use clbchat_core::statistics::{
                client_type_rank, ClientFigures, CoverageFigures, CoverageSample, DeskFigures,
                EventFigures,
                Period, PeriodCount, ReportData, ReportQuery, ThemeClient, ThemeFigures,
                TopicCount, Totals, COVERAGE_SAMPLE_VALID_FOR,
            };
            use sqlx::Row as _;

            use super::{begin_read, DIALECT};
            use crate::codec;
            use crate::error::{Context as _, Result};
            use crate::queries::col;

            type Qb = sqlx::QueryBuilder<$db>;
            type Tx = sqlx::Transaction<'static, $db>;

            /// "A chat that ended": the condition for durations.
            const ENDED: &str = "c.started_at_ns IS NOT NULL AND c.ended_at_ns IS NOT NULL \
                                 AND c.end_reason IS NOT NULL";

            fn count(n: i64) -> u64 {
                u64::try_from(n).unwrap_or(0)
            }

            fn secs(ns: Option<f64>) -> Option<f64> {
                ns.map(|ns| ns / 1e9)
            }

            /// `AND` conditions: arrived in `period`, of the query's desk.
            fn scope(qb: &mut Qb, desk: Option<&DeskId>, period: &Period) -> Result<()> {
                qb.push(" AND c.arrived_at_ns >= ")
                    .push_bind(codec::ns(period.from, "report period start")?);
                qb.push(" AND c.arrived_at_ns < ")
                    .push_bind(codec::ns(period.until, "report period end")?);
                if let Some(d) = desk {
                    qb.push(" AND c.desk = ").push_bind(d.0.as_str());
                }
                Ok(())
            }

            /// The client type of a chat: the registration's (`g`), else the self-report.
            fn client_type_expr() -> String {
                format!("COALESCE(g.client_type, {})", DIALECT.profile_client_type)
            }

            fn client_type_of(name: Option<String>) -> Result<Option<ClientType>> {
                name.map(|n| codec::from_name(&n, "client type")).transpose()
            }

            /// `AND` at least one of the registration's topics is in `topics`.
            fn about(qb: &mut Qb, topics: &[String]) {
                qb.push(format!(
                    " AND EXISTS (SELECT 1 FROM {} WHERE je.value IN (",
                    DIALECT.elements_of("g.topics")
                ));
                let mut list = qb.separated(", ");
                for t in topics {
                    list.push_bind(t.as_str());
                }
                qb.push("))");
            }

            async fn totals(tx: &mut Tx, q: &ReportQuery) -> Result<Totals> {
                let name = |r: EndReason| codec::name(&r, "end reason");
                let (abandoned, before, closing, full) = (
                    name(EndReason::AbandonedInQueue)?,
                    name(EndReason::RefusedBeforeClosing)?,
                    name(EndReason::ClosedAtClosingTime)?,
                    name(EndReason::RefusedQueueFull)?,
                );
                let mut qb = Qb::new(format!(
                    "SELECT count(*) AS arrivals, count(c.started_at_ns) AS chats, \
                     count(*) FILTER (WHERE {ENDED}) AS ended, \
                     CAST(avg(c.ended_at_ns - c.started_at_ns) FILTER (WHERE {ENDED}) \
                       AS DOUBLE PRECISION) AS duration_ns, \
                     CAST(avg(c.started_at_ns - c.arrived_at_ns) FILTER \
                       (WHERE c.started_at_ns IS NOT NULL) AS DOUBLE PRECISION) AS wait_ns, \
                     count(*) FILTER (WHERE c.started_at_ns IS NULL AND c.end_reason = "
                ));
                qb.push_bind(abandoned.clone());
                qb.push(
                    ") AS abandoned, CAST(avg(c.ended_at_ns - c.arrived_at_ns) FILTER (WHERE \
                     c.started_at_ns IS NULL AND c.ended_at_ns IS NOT NULL AND c.end_reason = ",
                );
                qb.push_bind(abandoned);
                qb.push(") AS DOUBLE PRECISION) AS abandoned_wait_ns, count(*) FILTER (WHERE c.end_reason = ");
                qb.push_bind(before);
                qb.push(") AS before_closing, count(*) FILTER (WHERE c.end_reason = ");
                qb.push_bind(closing);
                qb.push(") AS at_closing, count(*) FILTER (WHERE c.end_reason = ");
                qb.push_bind(full);
                qb.push(") AS queue_full FROM conversations c WHERE TRUE");
                scope(&mut qb, q.desk.as_ref(), &q.period)?;
                let row = qb.build().fetch_one(&mut **tx).await.context("counting the report's conversations")?;
                let mut t = Totals {
                    arrivals: count(col!(row, "arrivals")),
                    chats: count(col!(row, "chats")),
                    ended: count(col!(row, "ended")),
                    mean_duration_secs: secs(col!(row, "duration_ns")),
                    mean_wait_secs: secs(col!(row, "wait_ns")),
                    abandoned_in_queue: count(col!(row, "abandoned")),
                    mean_wait_abandoned_secs: secs(col!(row, "abandoned_wait_ns")),
                    refused_before_closing: count(col!(row, "before_closing")),
                    closed_at_closing_time: count(col!(row, "at_closing")),
                    refused_queue_full: count(col!(row, "queue_full")),
                    ..Totals::default()
                };

                // p90 of the wait, nearest rank: the k-th smallest with k = ceil(0.9 n).
                if t.chats > 0 {
                    let k = (t.chats * 90).div_ceil(100).max(1);
                    let mut qb = Qb::new(
                        "SELECT c.started_at_ns - c.arrived_at_ns AS wait_ns FROM conversations c \
                         WHERE c.started_at_ns IS NOT NULL",
                    );
                    scope(&mut qb, q.desk.as_ref(), &q.period)?;
                    qb.push(" ORDER BY wait_ns LIMIT 1 OFFSET ")
                        .push_bind(i64::try_from(k - 1).unwrap_or(0));
                    let row = qb.build().fetch_one(&mut **tx).await.context("finding the p90 wait")?;
                    let ns: i64 = col!(row, "wait_ns");
                    t.p90_wait_secs = Some(ns as f64 / 1e9);
                }

                let mut qb = Qb::new(format!(
                    "SELECT c.end_reason AS reason, count(*) AS n FROM conversations c WHERE {ENDED}"
                ));
                scope(&mut qb, q.desk.as_ref(), &q.period)?;
                qb.push(" GROUP BY c.end_reason");
                let rows = qb.build().fetch_all(&mut **tx).await.context("counting how chats ended")?;
                let mut reasons = BTreeMap::new();
                for row in &rows {
                    let name: String = col!(row, "reason");
                    let reason: EndReason = codec::from_name(&name, "end reason")?;
                    reasons.insert(name, (reason, count(col!(row, "n"))));
                }
                t.chats_by_end_reason = reasons.into_values().collect();

                let mut qb = Qb::new(
                    "SELECT count(g.conversation) AS registrations, \
                     count(*) FILTER (WHERE g.fake_call) AS fake, count(r.stars) AS ratings, \
                     CAST(avg(r.stars) AS DOUBLE PRECISION) AS stars \
                     FROM conversations c LEFT JOIN registrations g ON g.conversation = c.id \
                     LEFT JOIN ratings r ON r.conversation = c.id \
                     WHERE c.started_at_ns IS NOT NULL",
                );
                scope(&mut qb, q.desk.as_ref(), &q.period)?;
                let row = qb.build().fetch_one(&mut **tx).await.context("counting registrations and ratings")?;
                t.registrations = count(col!(row, "registrations"));
                t.fake_calls = count(col!(row, "fake"));
                t.ratings = count(col!(row, "ratings"));
                t.mean_stars = col!(row, "stars");
                Ok(t)
            }

            async fn clients(tx: &mut Tx, q: &ReportQuery) -> Result<Vec<ClientFigures>> {
                let ct = client_type_expr();
                let (f, m, x) = (
                    codec::name(&Gender::F, "gender")?,
                    codec::name(&Gender::M, "gender")?,
                    codec::name(&Gender::X, "gender")?,
                );
                let mut qb = Qb::new(format!(
                    "SELECT {ct} AS ct, count(*) AS chats, count(*) FILTER (WHERE {ENDED}) AS ended, \
                     CAST(avg(c.ended_at_ns - c.started_at_ns) FILTER (WHERE {ENDED}) \
                       AS DOUBLE PRECISION) AS duration_ns, \
                     count(r.stars) AS ratings, CAST(avg(r.stars) AS DOUBLE PRECISION) AS stars, \
                     count(g.conversation) AS registrations, \
                     count(*) FILTER (WHERE g.fake_call) AS fake, \
                     count(g.age) AS ages, CAST(avg(g.age) AS DOUBLE PRECISION) AS age, \
                     count(*) FILTER (WHERE g.gender = "
                ));
                qb.push_bind(f);
                qb.push(") AS f, count(*) FILTER (WHERE g.gender = ");
                qb.push_bind(m);
                qb.push(") AS m, count(*) FILTER (WHERE g.gender = ");
                qb.push_bind(x);
                qb.push(
                    ") AS x FROM conversations c LEFT JOIN registrations g ON g.conversation = c.id \
                     LEFT JOIN ratings r ON r.conversation = c.id WHERE c.started_at_ns IS NOT NULL",
                );
                scope(&mut qb, q.desk.as_ref(), &q.period)?;
                qb.push(format!(" GROUP BY {ct}"));
                let rows = qb.build().fetch_all(&mut **tx).await.context("counting per client type")?;
                let mut by: BTreeMap<u8, ClientFigures> = BTreeMap::new();
                for row in &rows {
                    let client_type = client_type_of(col!(row, "ct"))?;
                    by.insert(
                        client_type_rank(client_type),
                        ClientFigures {
                            client_type,
                            chats: count(col!(row, "chats")),
                            ended: count(col!(row, "ended")),
                            mean_duration_secs: secs(col!(row, "duration_ns")),
                            ratings: count(col!(row, "ratings")),
                            mean_stars: col!(row, "stars"),
                            registrations: count(col!(row, "registrations")),
                            fake_calls: count(col!(row, "fake")),
                            topics: Vec::new(),
                            results: ChatResult::ALL.iter().map(|r| (*r, 0)).collect(),
                            found_via: FoundVia::ALL.iter().map(|f| (*f, 0)).collect(),
                            ages: count(col!(row, "ages")),
                            mean_age: col!(row, "age"),
                            genders: vec![
                                (Gender::F, count(col!(row, "f"))),
                                (Gender::M, count(col!(row, "m"))),
                                (Gender::X, count(col!(row, "x"))),
                            ],
                        },
                    );
                }

                // Topics and results: chats per element of the registration's JSON array.
                for (column, what) in [("g.topics", "topics"), ("g.results", "results")] {
                    let mut qb = Qb::new(format!(
                        "SELECT g.client_type AS ct, je.value AS item, count(DISTINCT c.id) AS n \
                         FROM conversations c JOIN registrations g ON g.conversation = c.id \
                         CROSS JOIN {}{} WHERE c.started_at_ns IS NOT NULL",
                        DIALECT.lateral,
                        DIALECT.elements_of(column)
                    ));
                    scope(&mut qb, q.desk.as_ref(), &q.period)?;
                    qb.push(" GROUP BY g.client_type, je.value");
                    let rows = qb
                        .build()
                        .fetch_all(&mut **tx)
                        .await
                        .context(if what == "topics" { "counting topics" } else { "counting results" })?;
                    for row in &rows {
                        let client_type = client_type_of(col!(row, "ct"))?;
                        let item: String = col!(row, "item");
                        let n = count(col!(row, "n"));
                        let Some(fig) = by.get_mut(&client_type_rank(client_type)) else {
                            continue;
                        };
                        if what == "topics" {
                            fig.topics.push(TopicCount { topic: item, chats: n });
                        } else {
                            let result: ChatResult = codec::from_name(&item, "chat result")?;
                            if let Some(e) = fig.results.iter_mut().find(|(r, _)| *r == result) {
                                e.1 = n;
                            }
                        }
                    }
                }
                for fig in by.values_mut() {
                    fig.topics
                        .sort_by(|a, b| b.chats.cmp(&a.chats).then(a.topic.cmp(&b.topic)));
                }

                let mut qb = Qb::new(
                    "SELECT g.client_type AS ct, g.found_via AS found, count(*) AS n \
                     FROM conversations c JOIN registrations g ON g.conversation = c.id \
                     WHERE c.started_at_ns IS NOT NULL AND g.found_via IS NOT NULL",
                );
                scope(&mut qb, q.desk.as_ref(), &q.period)?;
                qb.push(" GROUP BY g.client_type, g.found_via");
                let rows = qb.build().fetch_all(&mut **tx).await.context("counting how clients found the chat")?;
                for row in &rows {
                    let client_type = client_type_of(col!(row, "ct"))?;
                    let found: FoundVia = codec::from_name(&row.try_get::<String, _>("found").context("reading column `found`")?, "found via")?;
                    if let Some(fig) = by.get_mut(&client_type_rank(client_type)) {
                        if let Some(e) = fig.found_via.iter_mut().find(|(f, _)| *f == found) {
                            e.1 = count(col!(row, "n"));
                        }
                    }
                }
                Ok(by.into_values().collect())
            }

            /// Chats per period of `periods` (arrival in the period, the query's desk).
            async fn per_period(
                tx: &mut Tx,
                desk: Option<&DeskId>,
                periods: &[Period],
            ) -> Result<Vec<PeriodCount>> {
                let mut out: Vec<PeriodCount> = periods
                    .iter()
                    .map(|p| PeriodCount { period: p.clone(), chats: 0, students: 0, parents: 0 })
                    .collect();
                if periods.is_empty() {
                    return Ok(out);
                }
                let ct = client_type_expr();
                let mut qb = Qb::new(format!(
                    "SELECT b.column1 AS idx, count(*) AS chats, \
                     count(*) FILTER (WHERE {ct} = "
                ));
                qb.push_bind(codec::name(&ClientType::Student, "client type")?);
                qb.push(format!(") AS students, count(*) FILTER (WHERE {ct} = "));
                qb.push_bind(codec::name(&ClientType::Parent, "client type")?);
                qb.push(") AS parents FROM (VALUES ");
                for (i, p) in periods.iter().enumerate() {
                    if i > 0 {
                        qb.push(", ");
                    }
                    qb.push("(")
                        .push_bind(i64::try_from(i).unwrap_or(0))
                        .push(", ")
                        .push_bind(codec::ns(p.from, "period start")?)
                        .push(", ")
                        .push_bind(codec::ns(p.until, "period end")?)
                        .push(")");
                }
                qb.push(
                    ") AS b JOIN conversations c ON c.arrived_at_ns >= b.column2 \
                     AND c.arrived_at_ns < b.column3 \
                     LEFT JOIN registrations g ON g.conversation = c.id \
                     WHERE c.started_at_ns IS NOT NULL",
                );
                if let Some(d) = desk {
                    qb.push(" AND c.desk = ").push_bind(d.0.as_str());
                }
                qb.push(" GROUP BY b.column1");
                let rows = qb.build().fetch_all(&mut **tx).await.context("counting chats per period")?;
                for row in &rows {
                    let idx: i64 = col!(row, "idx");
                    if let Some(pc) = usize::try_from(idx).ok().and_then(|i| out.get_mut(i)) {
                        pc.chats = count(col!(row, "chats"));
                        pc.students = count(col!(row, "students"));
                        pc.parents = count(col!(row, "parents"));
                    }
                }
                Ok(out)
            }

            /// The figures of the query's events: one query per chunk of windows (each a
            /// `VALUES` row of event, desk, start and end), summed per event and client type.
            async fn events(tx: &mut Tx, q: &ReportQuery) -> Result<Vec<EventFigures>> {
                /// Windows per query: four parameters each, far below both databases' limits.
                const CHUNK: usize = 500;
                #[derive(Default)]
                struct Sums {
                    arrivals: u64,
                    chats: u64,
                    clients: BTreeMap<u8, (Option<ClientType>, u64)>,
                    ended: u64,
                    duration_ns: f64,
                    ratings: u64,
                    stars: f64,
                }
                let windows: Vec<(usize, &DeskId, &Period)> = q
                    .events
                    .iter()
                    .enumerate()
                    .flat_map(|(i, e)| e.windows.iter().map(move |w| (i, &e.desk, w)))
                    .collect();
                let mut sums: Vec<Sums> = q.events.iter().map(|_| Sums::default()).collect();
                let ct = client_type_expr();
                for chunk in windows.chunks(CHUNK) {
                    let mut qb = Qb::new(format!(
                        "SELECT b.column1 AS idx, {ct} AS ct, count(*) AS arrivals, \
                         count(c.started_at_ns) AS chats, count(*) FILTER (WHERE {ENDED}) AS ended, \
                         CAST(sum(c.ended_at_ns - c.started_at_ns) FILTER (WHERE {ENDED}) \
                           AS DOUBLE PRECISION) AS duration_ns, \
                         count(r.stars) FILTER (WHERE c.started_at_ns IS NOT NULL) AS ratings, \
                         CAST(sum(r.stars) FILTER (WHERE c.started_at_ns IS NOT NULL) \
                           AS DOUBLE PRECISION) AS stars FROM (VALUES "
                    ));
                    for (n, (i, desk, w)) in chunk.iter().enumerate() {
                        if n > 0 {
                            qb.push(", ");
                        }
                        qb.push("(")
                            .push_bind(i64::try_from(*i).unwrap_or(0))
                            .push(", ")
                            .push_bind(desk.0.as_str())
                            .push(", ")
                            .push_bind(codec::ns(w.from, "event window start")?)
                            .push(", ")
                            .push_bind(codec::ns(w.until, "event window end")?)
                            .push(")");
                    }
                    qb.push(
                        ") AS b JOIN conversations c ON c.desk = b.column2 \
                         AND c.arrived_at_ns >= b.column3 AND c.arrived_at_ns < b.column4 \
                         LEFT JOIN registrations g ON g.conversation = c.id \
                         LEFT JOIN ratings r ON r.conversation = c.id",
                    );
                    if let Some(d) = &q.desk {
                        qb.push(" WHERE c.desk = ").push_bind(d.0.as_str());
                    }
                    qb.push(format!(" GROUP BY b.column1, {ct}"));
                    let rows = qb.build().fetch_all(&mut **tx).await.context("counting the events' chats")?;
                    for row in &rows {
                        let idx: i64 = col!(row, "idx");
                        let Some(e) = usize::try_from(idx).ok().and_then(|i| sums.get_mut(i)) else {
                            continue;
                        };
                        let client_type = client_type_of(col!(row, "ct"))?;
                        let chats = count(col!(row, "chats"));
                        e.arrivals += count(col!(row, "arrivals"));
                        e.chats += chats;
                        if chats > 0 {
                            e.clients.entry(client_type_rank(client_type)).or_insert((client_type, 0)).1 += chats;
                        }
                        e.ended += count(col!(row, "ended"));
                        let duration_ns: Option<f64> = col!(row, "duration_ns");
                        e.duration_ns += duration_ns.unwrap_or(0.0);
                        e.ratings += count(col!(row, "ratings"));
                        let stars: Option<f64> = col!(row, "stars");
                        e.stars += stars.unwrap_or(0.0);
                    }
                }
                Ok(q
                    .events
                    .iter()
                    .zip(sums)
                    .map(|(e, s)| EventFigures {
                        query: e.clone(),
                        arrivals: s.arrivals,
                        chats: s.chats,
                        clients: s.clients.into_values().collect(),
                        ended: s.ended,
                        mean_duration_secs: (s.ended > 0).then(|| s.duration_ns / s.ended as f64 / 1e9),
                        ratings: s.ratings,
                        mean_stars: (s.ratings > 0).then(|| s.stars / s.ratings as f64),
                    })
                    .collect())
            }

            async fn theme(tx: &mut Tx, q: &ReportQuery) -> Result<Option<ThemeFigures>> {
                let Some(theme) = &q.theme else { return Ok(None) };
                let mut qb = Qb::new(
                    "SELECT count(*) AS n FROM conversations c WHERE c.started_at_ns IS NOT NULL",
                );
                scope(&mut qb, q.desk.as_ref(), &theme.period)?;
                let row = qb.build().fetch_one(&mut **tx).await.context("counting the theme period's chats")?;
                let chats = count(col!(row, "n"));

                let mut qb = Qb::new(format!(
                    "SELECT count(*) AS n, CAST(avg(c.ended_at_ns - c.started_at_ns) FILTER \
                     (WHERE {ENDED}) AS DOUBLE PRECISION) AS duration_ns, count(r.stars) AS ratings, \
                     CAST(avg(r.stars) AS DOUBLE PRECISION) AS stars \
                     FROM conversations c JOIN registrations g ON g.conversation = c.id \
                     LEFT JOIN ratings r ON r.conversation = c.id WHERE c.started_at_ns IS NOT NULL"
                ));
                scope(&mut qb, q.desk.as_ref(), &theme.period)?;
                about(&mut qb, &theme.topics);
                let row = qb.build().fetch_one(&mut **tx).await.context("counting the theme's chats")?;
                let mut f = ThemeFigures {
                    query: theme.clone(),
                    chats,
                    about_theme: count(col!(row, "n")),
                    clients: Vec::new(),
                    mean_duration_secs: secs(col!(row, "duration_ns")),
                    ratings: count(col!(row, "ratings")),
                    mean_stars: col!(row, "stars"),
                };

                let mut qb = Qb::new(
                    "SELECT g.client_type AS ct, count(*) AS n, count(g.age) AS ages, \
                     CAST(avg(g.age) AS DOUBLE PRECISION) AS age \
                     FROM conversations c JOIN registrations g ON g.conversation = c.id \
                     WHERE c.started_at_ns IS NOT NULL",
                );
                scope(&mut qb, q.desk.as_ref(), &theme.period)?;
                about(&mut qb, &theme.topics);
                qb.push(" GROUP BY g.client_type");
                let rows = qb.build().fetch_all(&mut **tx).await.context("counting the theme per client type")?;
                let mut by = BTreeMap::new();
                for row in &rows {
                    let client_type = client_type_of(col!(row, "ct"))?;
                    by.insert(
                        client_type_rank(client_type),
                        ThemeClient {
                            client_type,
                            chats: count(col!(row, "n")),
                            ages: count(col!(row, "ages")),
                            mean_age: col!(row, "age"),
                        },
                    );
                }
                f.clients = by.into_values().collect();
                Ok(Some(f))
            }

            async fn desks(tx: &mut Tx, q: &ReportQuery) -> Result<Vec<DeskFigures>> {
                let mut qb = Qb::new(format!(
                    "SELECT c.desk AS desk, count(*) AS chats, \
                     CAST(avg(c.ended_at_ns - c.started_at_ns) FILTER (WHERE {ENDED}) \
                       AS DOUBLE PRECISION) AS duration_ns, \
                     count(r.stars) AS ratings, CAST(avg(r.stars) AS DOUBLE PRECISION) AS stars \
                     FROM conversations c LEFT JOIN ratings r ON r.conversation = c.id \
                     WHERE c.started_at_ns IS NOT NULL"
                ));
                scope(&mut qb, q.desk.as_ref(), &q.period)?;
                qb.push(" GROUP BY c.desk");
                let rows = qb.build().fetch_all(&mut **tx).await.context("counting per desk")?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    out.push(DeskFigures {
                        desk: DeskId(col!(row, "desk")),
                        chats: count(col!(row, "chats")),
                        mean_duration_secs: secs(col!(row, "duration_ns")),
                        ratings: count(col!(row, "ratings")),
                        mean_stars: col!(row, "stars"),
                    });
                }
                // By id in bytes, as the other stores sort (a server's collation may not).
                out.sort_by(|a, b| a.desk.0.cmp(&b.desk.0));
                Ok(out)
            }

            /// Each sample holds until the next of its desk, at most the validity, cut to
            /// the period and to `as_of`; closed time does not count.
            async fn coverage(tx: &mut Tx, q: &ReportQuery) -> Result<Vec<CoverageFigures>> {
                let valid = i64::try_from(COVERAGE_SAMPLE_VALID_FOR.as_nanos()).unwrap_or(i64::MAX);
                let from = codec::ns(q.period.from, "report period start")?;
                let end = codec::ns(q.period.until.min(q.as_of), "report end")?;
                let mut qb = Qb::new(
                    "WITH s AS (SELECT desk, at_ns, open, counsellors, medical, minimum, medical_wanted, \
                     LEAD(at_ns) OVER (PARTITION BY desk ORDER BY at_ns) AS next_ns \
                     FROM coverage WHERE at_ns < ",
                );
                qb.push_bind(end);
                qb.push(" AND at_ns > ").push_bind(from.saturating_sub(valid));
                if let Some(d) = &q.desk {
                    qb.push(" AND desk = ").push_bind(d.0.as_str());
                }
                qb.push("), l AS (SELECT desk, open, counsellors, medical, minimum, medical_wanted, next_ns, \
                         CASE WHEN at_ns < ");
                qb.push_bind(from);
                qb.push(" THEN ").push_bind(from);
                qb.push(" ELSE at_ns END AS a, CASE WHEN at_ns + ").push_bind(valid);
                qb.push(" < ").push_bind(end);
                qb.push(" THEN at_ns + ").push_bind(valid);
                qb.push(" ELSE ").push_bind(end);
                qb.push(
                    " END AS cap FROM s), w AS (SELECT desk, open, counsellors, medical, minimum, medical_wanted, a, \
                     CASE WHEN next_ns IS NOT NULL AND next_ns < cap THEN next_ns ELSE cap END AS b \
                     FROM l) \
                     SELECT desk, \
                     CAST(sum(CASE WHEN open THEN (b - a) / 1000000000 ELSE 0 END) AS BIGINT) AS open_secs, \
                     CAST(sum(CASE WHEN open AND counsellors < minimum THEN (b - a) / 1000000000 ELSE 0 END) AS BIGINT) AS below_secs, \
                     CAST(sum(CASE WHEN open AND medical_wanted AND medical = 0 THEN (b - a) / 1000000000 ELSE 0 END) AS BIGINT) AS no_medical_secs \
                     FROM w WHERE b > a GROUP BY desk",
                );
                let rows = qb.build().fetch_all(&mut **tx).await.context("counting coverage")?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    out.push(CoverageFigures {
                        desk: DeskId(col!(row, "desk")),
                        open_secs: count(col!(row, "open_secs")),
                        below_minimum_secs: count(col!(row, "below_secs")),
                        no_medical_secs: count(col!(row, "no_medical_secs")),
                    });
                }
                out.sort_by(|a, b| a.desk.0.cmp(&b.desk.0));
                Ok(out)
            }

            impl super::$backend {
                pub(crate) async fn record_coverage(&self, s: &CoverageSample) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO coverage (desk, at_ns, open, counsellors, medical, minimum, \
                         medical_wanted) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (desk, at_ns) DO UPDATE SET \
                         open = excluded.open, counsellors = excluded.counsellors, \
                         medical = excluded.medical, minimum = excluded.minimum, \
                         medical_wanted = excluded.medical_wanted",
                    )
                    .bind(s.desk.0.as_str())
                    .bind(codec::ns(s.at, "coverage time")?)
                    .bind(s.open)
                    .bind(i32::try_from(s.counsellors).unwrap_or(i32::MAX))
                    .bind(i32::try_from(s.medical.min(s.counsellors)).unwrap_or(i32::MAX))
                    .bind(i32::try_from(s.minimum).unwrap_or(i32::MAX))
                    .bind(s.medical_wanted)
                    .execute(&self.write)
                    .await
                    .context("recording coverage")?;
                    Ok(())
                }

                pub(crate) async fn report(&self, q: &ReportQuery) -> Result<ReportData> {
                    let mut tx = begin_read(&self.read).await.context("starting a report")?;
                    let totals = totals(&mut tx, q).await?;
                    let clients = clients(&mut tx, q).await?;
                    let months = per_period(&mut tx, q.desk.as_ref(), &q.months).await?;
                    let school_years = per_period(&mut tx, q.desk.as_ref(), &q.school_years).await?;
                    let theme = theme(&mut tx, q).await?;
                    let desks = desks(&mut tx, q).await?;
                    let coverage = coverage(&mut tx, q).await?;
                    let events = events(&mut tx, q).await?;
                    tx.commit().await.context("ending a report")?;
                    Ok(ReportData {
                        query: q.clone(),
                        totals,
                        clients,
                        months,
                        school_years,
                        theme,
                        desks,
                        coverage,
                        events,
                    })
                }
            }
        }
    };
}

pub(crate) use report_queries;
