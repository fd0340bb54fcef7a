/** Types of sched-idle.js (plain JavaScript so that onnx-worker.js can import it under plain node). */
export declare const SCHED_IDLE: 5;
export declare function policyOfStat(stat: string): number;
export declare function threadPolicy(tid: number | string): number | null;
export declare function currentThreadId(): number | null;
export declare function setIdlePolicySync(tid: number): boolean;
