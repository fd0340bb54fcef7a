/** Types of normalize-chw.js (plain JavaScript so that onnx-worker.js can import it under plain node). */
export interface NormalizeConfig {
  rescale: number;
  mean: readonly number[];
  std: readonly number[];
}
export declare function rgbToNormalizedChw(rgb: Uint8Array, width: number, height: number, cfg: NormalizeConfig, out?: Float32Array, offset?: number): Float32Array;
export declare function rgbBatchToNormalizedChw(rgb: Uint8Array, count: number, width: number, height: number, cfg: NormalizeConfig): Float32Array;
