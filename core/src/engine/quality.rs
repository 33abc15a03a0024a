//! Feedback on chats and erasure on request: what a counsellor and a coordinator do with a
//! chat after it ended, beside reading it (the reads are in [`super::session`], the rules
//! of who may read in [`crate::review`]).
//!
//! - **Feedback.** A counsellor asks for feedback on a chat they held
//!   ([`StaffHandle::ask_feedback`]); a coordinator of its desk writes it, after a chat scan
//!   or on that question ([`StaffHandle::write_feedback`]). The counsellor sees it with their
//!   own chats ([`StaffHandle::my_chats`]); the coordinator sees the questions and what was
//!   written at their desk ([`StaffHandle::feedback_at`]). Reading the feedback reads none of
//!   the chat: opening the chat itself is a read for `feedback`, audited.
//! - **Erasure on request.** A visitor asks, in the chat, that everything about them be
//!   erased. After the chat, its counsellor or a coordinator of its desk carries it out
//!   ([`StaffHandle::erase_on_request`]): the store erases the chat and every ended chat under
//!   the visitor's pseudonym ([`crate::store::Store::erase`]) and writes an audit row that
//!   says it happened and nothing of what it was. The logs say as little.

use super::session::{stored_meta, StaffHandle};
use crate::config::Anonymity;
use crate::error::{Error, Result};
use crate::ids::{ConversationId, DeskId};
use crate::review::{
    EraseRequest, Erasure, Feedback, FeedbackFilter, OwnChat, MAX_FEEDBACK_CHARS,
    MAX_FEEDBACK_ROWS, MAX_OWN_CHATS, MAX_QUESTION_CHARS,
};
use crate::store::{ConversationFilter, ConversationMeta, ConversationState};

/// Whether the chat's text is still kept (not purged, not erased, at least one message).
async fn text_kept(handle: &StaffHandle, meta: &ConversationMeta) -> Result<bool> {
    let found = handle
        .shared
        .store
        .conversations(&ConversationFilter {
            desk: Some(meta.desk.clone()),
            states: vec![ConversationState::Ended],
            arrived_from: Some(meta.arrived_at),
            arrived_until: Some(meta.arrived_at + chrono::Duration::nanoseconds(1)),
            counsellor: meta.counsellor.clone(),
            with_transcript: true,
            limit: None,
        })
        .await?;
    Ok(found.iter().any(|c| c.id == meta.id))
}

/// Whether the chat is ended with its text kept: what feedback can be about. Asked after
/// the caller's right to the chat was checked, so nobody learns a chat's state without it.
async fn about_a_kept_chat(handle: &StaffHandle, meta: &ConversationMeta) -> Result<()> {
    if meta.state != ConversationState::Ended {
        return Err(Error::InvalidState(
            "the chat is still going on: feedback is for a chat that has ended".into(),
        ));
    }
    if !text_kept(handle, meta).await? {
        return Err(Error::InvalidState(
            "this chat's text is gone (deleted at the end of the retention period, or erased \
             on request): there is nothing to give feedback on"
                .into(),
        ));
    }
    Ok(())
}

/// `text` trimmed, or `what` refused: empty, or longer than `max` characters.
fn bounded(text: &str, max: usize, what: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Invalid(format!("{what}: write something")));
    }
    if text.chars().count() > max {
        return Err(Error::Invalid(format!(
            "{what}: at most {max} characters (this is {})",
            text.chars().count()
        )));
    }
    Ok(text.to_owned())
}

impl StaffHandle {
    /// The counsellor's own ended chats whose text is still kept, newest first (at most
    /// [`MAX_OWN_CHATS`]), each with the feedback on it; only chats of desks they serve now.
    pub async fn my_chats(&self) -> Result<Vec<OwnChat>> {
        let store = &self.shared.store;
        let me = self.identity.id.clone();
        let chats = store
            .conversations(&ConversationFilter {
                states: vec![ConversationState::Ended],
                counsellor: Some(me.clone()),
                with_transcript: true,
                limit: Some(MAX_OWN_CHATS),
                ..ConversationFilter::default()
            })
            .await?;
        let feedback = store
            .feedback_list(&FeedbackFilter {
                desk: None,
                counsellor: Some(me),
                limit: MAX_FEEDBACK_ROWS,
            })
            .await?;
        Ok(chats
            .into_iter()
            .filter(|c| self.identity.serves(&c.desk))
            .map(|c| OwnChat {
                feedback: feedback.iter().find(|f| f.conversation == c.id).cloned(),
                conversation: c.id,
                desk: c.desk,
                started_at: c.started_at,
                ended_at: c.ended_at,
            })
            .collect())
    }

    /// A counsellor asks for feedback on a chat they held, with what they would like to
    /// hear about (optional; asking again replaces it). The coordinators of its desk see
    /// the question in [`StaffHandle::feedback_at`].
    pub async fn ask_feedback(
        &self,
        conversation: ConversationId,
        question: Option<&str>,
    ) -> Result<Feedback> {
        let meta = stored_meta(&self.shared, conversation).await?;
        if meta.counsellor.as_ref() != Some(&self.identity.id) || !self.identity.serves(&meta.desk)
        {
            return Err(Error::Forbidden(
                "you can ask for feedback only on a chat you held yourself".into(),
            ));
        }
        about_a_kept_chat(self, &meta).await?;
        let question = match question.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => Some(bounded(q, MAX_QUESTION_CHARS, "question")?),
            None => None,
        };
        let store = &self.shared.store;
        let mut feedback = store.feedback(conversation).await?.unwrap_or_else(|| {
            Feedback::none_yet(conversation, meta.desk.clone(), self.identity.id.clone())
        });
        feedback.asked_at = Some(self.shared.clock.now());
        feedback.question = question;
        store.put_feedback(&feedback).await?;
        tracing::info!(staff = %self.identity.id, desk = %meta.desk, "feedback asked");
        Ok(feedback)
    }

    /// A coordinator of the chat's desk writes feedback on it for the counsellor who held
    /// it (writing again replaces it). Read the chat first, for `chat_scan` or `feedback`.
    pub async fn write_feedback(
        &self,
        conversation: ConversationId,
        text: &str,
    ) -> Result<Feedback> {
        let meta = stored_meta(&self.shared, conversation).await?;
        self.require_coordinator(&meta.desk)?;
        about_a_kept_chat(self, &meta).await?;
        let Some(counsellor) = meta.counsellor.clone() else {
            return Err(Error::InvalidState(
                "no counsellor held this chat: there is nobody to give feedback to".into(),
            ));
        };
        let text = bounded(text, MAX_FEEDBACK_CHARS, "feedback")?;
        let store = &self.shared.store;
        let mut feedback = store
            .feedback(conversation)
            .await?
            .unwrap_or_else(|| Feedback::none_yet(conversation, meta.desk.clone(), counsellor));
        feedback.written_by = Some(self.identity.id.clone());
        feedback.written_at = Some(self.shared.clock.now());
        feedback.text = Some(text);
        store.put_feedback(&feedback).await?;
        tracing::info!(staff = %self.identity.id, desk = %meta.desk, "feedback written");
        Ok(feedback)
    }

    /// The feedback at a desk, for its coordinators: questions asked and feedback written,
    /// the newest change first (at most [`MAX_FEEDBACK_ROWS`]).
    pub async fn feedback_at(&self, desk: &DeskId) -> Result<Vec<Feedback>> {
        self.require_coordinator(desk)?;
        self.shared
            .store
            .feedback_list(&FeedbackFilter {
                desk: Some(desk.clone()),
                counsellor: None,
                limit: MAX_FEEDBACK_ROWS,
            })
            .await
    }

    /// Erases, on the visitor's request, everything tied to the visitor of an ended chat of
    /// an anonymous desk: see the module docs. For the counsellor who held the chat, or a
    /// coordinator of its desk. Returns nothing: not even how many chats it took.
    pub async fn erase_on_request(&self, conversation: ConversationId) -> Result<()> {
        let meta = stored_meta(&self.shared, conversation).await?;
        let held = meta.counsellor.as_ref() == Some(&self.identity.id);
        let coordinator = self.identity.is_coordinator();
        if !self.identity.serves(&meta.desk) || !(held || coordinator) {
            return Err(Error::Forbidden(format!(
                "only the counsellor who held this chat or a coordinator of desk `{}` can \
                 erase it",
                meta.desk
            )));
        }
        let desk = self.shared.desk(&meta.desk)?.config();
        if desk.anonymity != Anonymity::Anonymous {
            return Err(Error::Invalid(
                "a blended chat belongs to the client's file, which is erased as a whole \
                 when the trajectory ends; ask the file's counsellor"
                    .into(),
            ));
        }
        if meta.state != ConversationState::Ended {
            return Err(Error::InvalidState(
                "the chat is still going on: end it first, then erase".into(),
            ));
        }
        self.shared
            .store
            .erase(&EraseRequest {
                conversation,
                pseudonym: meta.pseudonym.clone(),
                record: Erasure {
                    desk: meta.desk.clone(),
                    by: self.identity.id.clone(),
                    at: self.shared.clock.now(),
                },
            })
            .await?;
        tracing::info!(staff = %self.identity.id, desk = %meta.desk, "erased on request");
        Ok(())
    }
}
