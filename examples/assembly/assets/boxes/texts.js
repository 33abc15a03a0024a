// chat-met-je-clb: the texts of its own pages (the list of centres, an unknown centre),
// Dutch first, then English. Loaded after i18n.js and before centres.js.
'use strict';

(function () {
  const D = window.ClbI18n.DICT;
  Object.assign(D.nl, {
    'cm.title': '{brand} – kies je CLB',
    'cm.tagline': 'de chat van je eigen CLB',
    'cm.pick_title': 'Kies je CLB',
    'cm.pick_intro': 'Elk CLB heeft een eigen chat. Die is alleen open op bepaalde momenten: bijvoorbeeld na iets ergs op school, of tijdens een infoavond of een studiebeurs. Je chat anoniem.',
    'cm.loading': 'Even laden…',
    'cm.none': 'Er zijn nog geen CLB\'s bij deze chat.',
    'cm.failed': 'De lijst laadt niet. Probeer het zo meteen opnieuw.',
    'cm.open': 'Nu open',
    'cm.closed': 'Nu gesloten',
    'cm.staff': 'Ben je CLB-medewerker? Naar je chats',
    'cm.not_found_title': '{brand} – dit CLB vinden we niet',
    'cm.not_found_heading': 'Dit CLB vinden we niet',
    'cm.not_found': 'Misschien is het adres niet helemaal juist. Kies je CLB in de lijst.',
    'cm.to_list': 'Naar de lijst van CLB\'s',
  });
  Object.assign(D.en, {
    'cm.title': '{brand} – choose your CLB',
    'cm.tagline': 'the chat of your own CLB',
    'cm.pick_title': 'Choose your CLB',
    'cm.pick_intro': 'Every CLB has a chat of its own. It is open only at certain times: for example after something bad happened at school, or during an information evening or a study fair. You chat anonymously.',
    'cm.loading': 'Loading…',
    'cm.none': 'No CLB has joined this chat yet.',
    'cm.failed': 'The list does not load. Try again in a moment.',
    'cm.open': 'Open now',
    'cm.closed': 'Closed now',
    'cm.staff': 'Do you work at a CLB? To your chats',
    'cm.not_found_title': '{brand} – we cannot find this CLB',
    'cm.not_found_heading': 'We cannot find this CLB',
    'cm.not_found': 'Maybe the address is not quite right. Choose your CLB in the list.',
    'cm.to_list': 'To the list of CLBs',
  });
})();
