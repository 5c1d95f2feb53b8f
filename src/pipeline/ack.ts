/** Called once the submission is durable (null), or refused (an error: no PUBACK). */
export type Ack = (err: Error | null) => void;
