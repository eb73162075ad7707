// Reads an iCalendar text on stdin with ical.js and prints its events as JSON: the UID and the
// start and end as UTC instants (seconds since the epoch), as a calendar program would see them.
"use strict";
const ICAL = require("./ical.es5.min.cjs");

let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { text += chunk; });
process.stdin.on("end", () => {
  const calendar = new ICAL.Component(ICAL.parse(text));
  const events = calendar.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    return {
      uid: event.uid,
      start: event.startDate.toUnixTime(),
      end: event.endDate.toUnixTime(),
      summary: event.summary,
    };
  });
  process.stdout.write(JSON.stringify(events));
});
