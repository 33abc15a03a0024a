-- An appointment may be held in more than one chat: a client whose chat ended during the
-- session (a dead battery, a closed tab) comes back through the same link into a new one.
-- The chats of every appointment, in order; they form the client file, which has its own
-- retention (see Store::purge_client_files), apart from the anonymous desks' purge.
CREATE TABLE appointment_chats (
    conversation uuid    NOT NULL PRIMARY KEY,
    appointment  uuid    NOT NULL,
    position     integer NOT NULL,
    UNIQUE (appointment, position)
);
INSERT INTO appointment_chats (conversation, appointment, position)
    SELECT conversation, id, 0 FROM appointments WHERE conversation IS NOT NULL;
ALTER TABLE appointments DROP COLUMN conversation;
