//! A counsellor's appointments (blended chat): plan, move, cancel, list, and a new link.
//! The rules are [`crate::appointment`]'s; here they meet the store and the staff member.
//!
//! Who may do what: a counsellor of a blended-chat desk with a centre plans for themself;
//! the counsellor and the stand-in of a session read the trajectory's earlier sessions
//! (audited; see [`StaffHandle::trajectory`]);
//! the counsellor of an appointment may move it, cancel it and make a new link for it; its
//! stand-in sees it in their list (they may hold the session) but does not change it.
//! Staff of another centre never see it. The join token is returned once, when it is made:
//! the store keeps only its hash, so a lost link is replaced by a new one (the old stops
//! working), never shown again.

use chrono::{DateTime, Utc};

use super::session::StaffHandle;
use crate::appointment::{
    check_booking, Appointment, AppointmentFilter, AppointmentStatus, AppointmentView, Booking,
};
use crate::config::Admission;
use crate::error::{Error, Result};
use crate::event::LoggedEvent;
use crate::ids::{AppointmentId, CentreId, DeskId, StaffId, TrajectoryId};
use crate::pseudonym::{hash_secret, random_token};
use crate::review::{may_read, ChatFacts, ReadPurpose};
use crate::store::TranscriptRead;

/// Bytes of randomness in a join token (192 bits).
const TOKEN_BYTES: usize = 24;

/// One session of a trajectory, with its chat's log as staff see it (empty when the client
/// never joined).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionTranscript {
    /// The session.
    pub appointment: AppointmentView,
    /// Its chats, one after the other, each in order (every event names its chat).
    pub log: Vec<LoggedEvent>,
}

/// Which of a counsellor's appointments to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// Not over yet, soonest first.
    Coming,
    /// Over (or cancelled), most recent first.
    Past,
}

impl StaffHandle {
    /// Their centre, or why they cannot plan.
    fn centre(&self) -> Result<CentreId> {
        self.identity.centre.clone().ok_or_else(|| {
            Error::Forbidden(
                "your account belongs to no centre; ask a coordinator to set your centre".into(),
            )
        })
    }

    /// Checks that `desk` takes appointments and that they serve it.
    fn appointment_desk(&self, desk: &DeskId) -> Result<()> {
        let cfg = self.shared.desk(desk)?.config();
        if cfg.admission != Admission::Appointment {
            return Err(Error::Invalid(format!(
                "desk `{desk}` does not take appointments"
            )));
        }
        if !self.identity.serves(desk) {
            return Err(Error::Forbidden(format!(
                "you are not in the team of desk `{desk}`"
            )));
        }
        Ok(())
    }

    /// Their own appointment `id` (as its counsellor), or [`Error::NotYours`]-like refusals.
    async fn own_appointment(&self, id: AppointmentId) -> Result<Appointment> {
        match self.shared.store.appointment(id).await? {
            Some(a) if a.counsellor == self.identity.id => Ok(a),
            Some(a) if a.held_by(&self.identity.id) => Err(Error::Forbidden(
                "only the appointment's own counsellor can change it".into(),
            )),
            _ => Err(Error::Invalid(format!(
                "there is no appointment {id} of yours"
            ))),
        }
    }

    /// Checks `booking` for this counsellor against the rules and their (and the
    /// stand-in's) other appointments; `moving` is the one being moved.
    async fn check(
        &self,
        booking: &Booking,
        centre: &CentreId,
        moving: Option<AppointmentId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let stand_in_centre = match &booking.stand_in {
            Some(s) => self
                .shared
                .store
                .account(&s.0)
                .await?
                .filter(|a| a.active)
                .and_then(|a| a.identity.centre),
            None => None,
        };
        let end = booking.starts_at + chrono::Duration::minutes(i64::from(booking.length_minutes));
        let mut others = Vec::new();
        let mut people: Vec<&StaffId> = vec![&self.identity.id];
        people.extend(booking.stand_in.as_ref());
        for who in people {
            others.extend(
                self.shared
                    .store
                    .appointments(&AppointmentFilter {
                        staff: Some(who.clone()),
                        ending_after: Some(booking.starts_at),
                        starting_before: Some(end),
                        ..AppointmentFilter::default()
                    })
                    .await?,
            );
        }
        check_booking(
            booking,
            &self.identity.id,
            stand_in_centre.as_ref(),
            centre,
            &others,
            moving,
            now,
        )
    }

    /// The trajectory a booking continues, checked to be of their centre.
    async fn trajectory_for(&self, booking: &Booking, centre: &CentreId) -> Result<TrajectoryId> {
        let Some(t) = booking.trajectory else {
            return Ok(TrajectoryId::random());
        };
        let earlier = self
            .shared
            .store
            .appointments(&AppointmentFilter {
                trajectory: Some(t),
                include_cancelled: true,
                ..AppointmentFilter::default()
            })
            .await?;
        if earlier.first().is_some_and(|a| &a.centre == centre) {
            Ok(t)
        } else {
            Err(Error::Invalid(format!(
                "there is no trajectory {t} of your centre"
            )))
        }
    }

    /// Plans a session on `desk` for themself; gives it with the join token for the
    /// client's link (shown this once).
    pub async fn plan_appointment(
        &self,
        desk: &DeskId,
        booking: &Booking,
    ) -> Result<(Appointment, String)> {
        self.appointment_desk(desk)?;
        let centre = self.centre()?;
        let now = self.shared.clock.now();
        self.check(booking, &centre, None, now).await?;
        let trajectory = self.trajectory_for(booking, &centre).await?;
        let token = random_token(TOKEN_BYTES);
        let appointment = Appointment {
            id: AppointmentId::random(),
            desk: desk.clone(),
            centre,
            trajectory,
            counsellor: self.identity.id.clone(),
            stand_in: booking.stand_in.clone(),
            client_name: booking.client_name.trim().to_owned(),
            note: clean_note(booking.note.as_deref()),
            starts_at: booking.starts_at,
            length_minutes: booking.length_minutes,
            status: AppointmentStatus::Planned,
            token_hash: hash_secret(&token),
            conversations: Vec::new(),
            created_at: now,
        };
        self.shared.store.put_appointment(&appointment).await?;
        tracing::info!(appointment = %appointment.id, "appointment planned");
        Ok((appointment, token))
    }

    /// Moves their appointment `id` (a new start, length, name, note or stand-in); the
    /// client's link stays the same.
    pub async fn reschedule_appointment(
        &self,
        id: AppointmentId,
        booking: &Booking,
    ) -> Result<Appointment> {
        let mut a = self.own_appointment(id).await?;
        if a.status == AppointmentStatus::Cancelled {
            return Err(Error::InvalidState(
                "this appointment was cancelled; plan a new one".into(),
            ));
        }
        let now = self.shared.clock.now();
        if a.was_held() || a.ends_at() <= now {
            return Err(Error::InvalidState(
                "this session has already taken place; plan a new one".into(),
            ));
        }
        self.check(booking, &a.centre, Some(id), now).await?;
        a.client_name = booking.client_name.trim().to_owned();
        a.note = clean_note(booking.note.as_deref());
        a.starts_at = booking.starts_at;
        a.length_minutes = booking.length_minutes;
        a.stand_in = booking.stand_in.clone();
        self.shared.store.put_appointment(&a).await?;
        tracing::info!(appointment = %a.id, "appointment moved");
        Ok(a)
    }

    /// Cancels their appointment `id`: its link then says so.
    pub async fn cancel_appointment(&self, id: AppointmentId) -> Result<Appointment> {
        let mut a = self.own_appointment(id).await?;
        if a.status == AppointmentStatus::Cancelled {
            return Ok(a);
        }
        if a.was_held() {
            return Err(Error::InvalidState(
                "this session has already taken place".into(),
            ));
        }
        a.status = AppointmentStatus::Cancelled;
        self.shared.store.put_appointment(&a).await?;
        tracing::info!(appointment = %a.id, "appointment cancelled");
        Ok(a)
    }

    /// A new join link for their appointment `id`; the old link stops working.
    pub async fn new_appointment_link(&self, id: AppointmentId) -> Result<(Appointment, String)> {
        let mut a = self.own_appointment(id).await?;
        if a.status == AppointmentStatus::Cancelled {
            return Err(Error::InvalidState(
                "this appointment was cancelled; plan a new one".into(),
            ));
        }
        let token = random_token(TOKEN_BYTES);
        a.token_hash = hash_secret(&token);
        self.shared.store.put_appointment(&a).await?;
        Ok((a, token))
    }

    /// All sessions of trajectory `t`, oldest first, with their transcripts. Who may read:
    /// staff of the trajectory's centre who hold (as counsellor or stand-in) one of its
    /// sessions; everyone else is refused ([`Error::Forbidden`]). Each chat read leaves a
    /// row in the read audit ([`ReadPurpose::Trajectory`]).
    pub async fn trajectory(&self, t: TrajectoryId) -> Result<Vec<SessionTranscript>> {
        let sessions = self
            .shared
            .store
            .appointments(&AppointmentFilter {
                trajectory: Some(t),
                include_cancelled: true,
                ..AppointmentFilter::default()
            })
            .await?;
        let Some(first) = sessions.first() else {
            return Err(Error::Invalid(format!("there is no trajectory {t}")));
        };
        if self.identity.centre.as_ref() != Some(&first.centre) {
            return Err(Error::Forbidden(
                "this trajectory belongs to another centre".into(),
            ));
        }
        let holders: Vec<StaffId> = sessions
            .iter()
            .flat_map(|a| std::iter::once(a.counsellor.clone()).chain(a.stand_in.clone()))
            .collect();
        let facts = ChatFacts {
            desk: first.desk.clone(),
            counsellor: None,
            trajectory: Some((first.centre.clone(), holders)),
        };
        may_read(&self.identity, &facts, ReadPurpose::Trajectory)?;
        let mut out = Vec::with_capacity(sessions.len());
        for a in &sessions {
            let mut log = Vec::new();
            for &conversation in &a.conversations {
                log.extend(
                    self.shared
                        .store
                        .read_transcript(&TranscriptRead {
                            conversation,
                            reader: self.identity.id.clone(),
                            at: self.shared.clock.now(),
                            purpose: ReadPurpose::Trajectory.describe(None),
                        })
                        .await?,
                );
            }
            out.push(SessionTranscript {
                appointment: a.into(),
                log,
            });
        }
        Ok(out)
    }

    /// Their coming or past appointments (as counsellor or stand-in).
    pub async fn appointments(&self, which: Which) -> Result<Vec<Appointment>> {
        let now = self.shared.clock.now();
        let mine = AppointmentFilter {
            staff: Some(self.identity.id.clone()),
            ..AppointmentFilter::default()
        };
        match which {
            Which::Coming => {
                self.shared
                    .store
                    .appointments(&AppointmentFilter {
                        ending_after: Some(now),
                        ..mine
                    })
                    .await
            }
            Which::Past => {
                let mut all = self
                    .shared
                    .store
                    .appointments(&AppointmentFilter {
                        include_cancelled: true,
                        ..mine
                    })
                    .await?;
                all.retain(|a| a.ends_at() <= now || a.status == AppointmentStatus::Cancelled);
                all.reverse();
                Ok(all)
            }
        }
    }
}

/// A note with its blanks trimmed; an empty one is none.
fn clean_note(note: Option<&str>) -> Option<String> {
    note.map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}
