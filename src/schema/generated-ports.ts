/** The port the generated Logstash pipeline listens on for Beats (Filebeat ships to it). */
export const BEATS_PORT = 5044;
