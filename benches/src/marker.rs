//! The marker every load-generator message carries, so the receiving side can tell which
//! conversation it belongs to, its number in that conversation, and when it was sent,
//! without a lookup table shared between the sending and the receiving task.
//!
//! Format: `#<visitor>:<number>:<sent_ns>#` followed by `x` padding up to the message size.
//! It uses only characters that JSON, socket.io and WebSocket text frames carry verbatim,
//! so the receiver finds it by scanning the raw frame text, without parsing JSON.

/// One message's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// The visitor (conversation) index, from 0.
    pub visitor: u32,
    /// The message's number in its conversation, from 1.
    pub number: u64,
    /// When it was (meant to be) sent, in nanoseconds since the run's base instant.
    pub sent_ns: u64,
}

impl Marker {
    /// The message text: the marker, padded with `x` to at least `size` bytes.
    pub fn text(&self, size: usize) -> String {
        let mut s = format!("#{}:{}:{}#", self.visitor, self.number, self.sent_ns);
        while s.len() < size {
            s.push('x');
        }
        s
    }

    /// Finds the first marker in `frame` (a raw frame's text) after `after` (e.g.
    /// `"text":"` for a clbchat log event, or nothing for a bare relay frame).
    pub fn find(frame: &str, after: &str) -> Option<Marker> {
        let start = frame.find(after)? + after.len();
        let rest = frame.get(start..)?.strip_prefix('#')?;
        let end = rest.find('#')?;
        let mut parts = rest.get(..end)?.split(':');
        let visitor = parts.next()?.parse().ok()?;
        let number = parts.next()?.parse().ok()?;
        let sent_ns = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Marker {
            visitor,
            number,
            sent_ns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Marker;

    #[test]
    fn a_marker_survives_a_round_trip_through_each_framing() {
        let m = Marker {
            visitor: 17,
            number: 3,
            sent_ns: 123_456_789,
        };
        let text = m.text(64);
        assert_eq!(text.len(), 64);
        assert_eq!(Marker::find(&text, ""), Some(m));
        let clbchat = format!(
            r#"{{"type":"event","event":{{"event":"log","seq":4,"body":{{"type":"message","text":"{text}"}}}}}}"#
        );
        assert_eq!(Marker::find(&clbchat, r#""text":""#), Some(m));
        let socketio = format!(r#"42["msg","{text}"]"#);
        assert_eq!(Marker::find(&socketio, r#"["msg",""#), Some(m));
    }

    #[test]
    fn damaged_markers_are_refused() {
        for bad in ["", "#1:2#", "#1:2:3", "#a:2:3#", "#1:2:3:4#", "x#1:2:3#"] {
            assert_eq!(Marker::find(bad, ""), None, "{bad}");
        }
    }
}
