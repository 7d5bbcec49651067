/**
 * Versioned model files under models/<site>/model-NNNNNN.json: list, save, load the promoted one,
 * promote and roll back. Files are written atomically (temporary file, then link/rename), so a
 * reader never sees half a file. A corrupt or incompatible file is refused with a message naming it;
 * loading then falls back to the model that was in service before.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelFile, parseModelFile } from './modelFile.ts';

export class ModelFileError extends Error {
  readonly code = 'FORECAST_MODEL_FILE';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export interface RefusedFile {
  file: string;
  error: string;
}

export interface ModelEntry {
  file: string;
  version: number;
  status: ModelFile['status'];
  created: string;
  promotedAt?: string;
  rolledBackAt?: string;
  gate: ModelFile['gate'];
  horizons: Array<{ horizonMin: number; mae: number; persistenceMae: number }>;
  counts: ModelFile['counts'];
}

const NAME = /^model-(\d{6})\.json$/;
const fileName = (version: number) => `model-${String(version).padStart(6, '0')}.json`;

export class ModelRepository {
  readonly dir: string;

  /** `root` is the models directory (default `models`); files live in `<root>/<site>/`. */
  constructor(
    root: string,
    readonly site: string,
  ) {
    this.dir = join(root, site);
  }

  private path(version: number): string {
    return join(this.dir, fileName(version));
  }

  /** Every model file: the valid ones (by version) and the refused ones with the reason. */
  async scan(): Promise<{ models: Array<{ file: string; model: ModelFile }>; refused: RefusedFile[] }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { models: [], refused: [] };
      throw e;
    }
    const models: Array<{ file: string; model: ModelFile }> = [];
    const refused: RefusedFile[] = [];
    for (const name of names.filter((n) => NAME.test(n)).sort()) {
      const file = join(this.dir, name);
      const result = await this.readPath(file, Number(NAME.exec(name)![1]));
      if (result.ok) models.push({ file, model: result.model });
      else refused.push({ file, error: result.error });
    }
    return { models, refused };
  }

  private async readPath(
    file: string,
    version: number,
  ): Promise<{ ok: true; model: ModelFile } | { ok: false; error: string }> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      return { ok: false, error: `cannot read (${(e as Error).message})` };
    }
    const parsed = parseModelFile(text, this.site);
    if (parsed.ok && parsed.model.version !== version) {
      return {
        ok: false,
        error: `holds version ${parsed.model.version} but is named for version ${version}`,
      };
    }
    return parsed;
  }

  async list(): Promise<{ models: ModelEntry[]; refused: RefusedFile[] }> {
    const { models, refused } = await this.scan();
    return {
      models: models.map(({ file, model: m }) => ({
        file,
        version: m.version,
        status: m.status,
        created: m.created,
        ...(m.promotedAt ? { promotedAt: m.promotedAt } : {}),
        ...(m.rolledBackAt ? { rolledBackAt: m.rolledBackAt } : {}),
        gate: m.gate,
        horizons: m.validation.horizons.map((v) => ({
          horizonMin: v.horizonMin,
          mae: v.model.mae,
          persistenceMae: v.persistence.mae,
        })),
        counts: m.counts,
      })),
      refused,
    };
  }

  /** Read one version; throws ModelFileError naming the file when it is missing, corrupt or incompatible. */
  async read(version: number): Promise<ModelFile> {
    const file = this.path(version);
    const result = await this.readPath(file, version);
    if (!result.ok) throw new ModelFileError(file, result.error);
    return result.model;
  }

  /**
   * The model to put in service: the promoted one most recently promoted; when that file is refused
   * or missing, the model in service before it. `refused` lists every file that could not be used.
   */
  async loadPromoted(): Promise<{ model: ModelFile | undefined; file?: string; refused: RefusedFile[] }> {
    const { models, refused } = await this.scan();
    const byPromotion = models
      .filter((m) => m.model.promotedAt && !m.model.rolledBackAt)
      .sort((a, b) => Date.parse(b.model.promotedAt!) - Date.parse(a.model.promotedAt!));
    const pick = byPromotion.find((m) => m.model.status === 'promoted') ?? byPromotion[0];
    return pick ? { model: pick.model, file: pick.file, refused } : { model: undefined, refused };
  }

  /**
   * Store a newly trained model under the next free version. A model whose status is `promoted`
   * takes over from the one in service, which is retired. Returns the stored model.
   */
  async save(model: ModelFile, now: number = Date.now()): Promise<{ model: ModelFile; file: string }> {
    await mkdir(this.dir, { recursive: true });
    const { models } = await this.scan();
    let version = Math.max(0, ...models.map((m) => m.model.version), ...(await this.usedVersions())) + 1;
    const stored: ModelFile = { ...model, site: this.site };
    if (stored.status === 'promoted') stored.promotedAt = new Date(now).toISOString();
    for (;;) {
      stored.version = version;
      const file = this.path(version);
      const tmp = await this.writeTemp(stored);
      try {
        await link(tmp, file); // fails if another writer took this version
        await unlink(tmp);
        if (stored.status === 'promoted') await this.retireOthers(version);
        return { model: stored, file };
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        version++;
      }
    }
  }

  /** Put a stored version in service; the previously promoted model is retired. */
  async promote(version: number, now: number = Date.now()): Promise<ModelFile> {
    const model = await this.read(version);
    const promoted: ModelFile = { ...model, status: 'promoted', promotedAt: new Date(now).toISOString() };
    delete promoted.rolledBackAt;
    await this.writeAtomic(promoted);
    await this.retireOthers(version);
    return promoted;
  }

  /** Take the promoted model out of service and put back the one promoted before it. */
  async rollback(now: number = Date.now()): Promise<{ from: ModelFile; to: ModelFile }> {
    const { models } = await this.scan();
    const current = models
      .filter((m) => m.model.status === 'promoted')
      .sort((a, b) => Date.parse(b.model.promotedAt ?? '') - Date.parse(a.model.promotedAt ?? ''))[0];
    if (!current) throw new ModelFileError(this.dir, 'no promoted model to roll back');
    const since = Date.parse(current.model.promotedAt ?? '');
    const previous = models
      .filter((m) => m.model.status === 'retired' && m.model.promotedAt && !m.model.rolledBackAt)
      .filter((m) => !(Date.parse(m.model.promotedAt!) > since))
      .sort((a, b) => Date.parse(b.model.promotedAt!) - Date.parse(a.model.promotedAt!))[0];
    if (!previous)
      throw new ModelFileError(
        this.dir,
        `no earlier promoted model to roll back to from v${current.model.version}`,
      );
    const at = new Date(now).toISOString();
    const to: ModelFile = { ...previous.model, status: 'promoted', promotedAt: at };
    const from: ModelFile = { ...current.model, status: 'retired', rolledBackAt: at };
    await this.writeAtomic(to);
    await this.writeAtomic(from);
    return { from, to };
  }

  private async retireOthers(keep: number): Promise<void> {
    const { models } = await this.scan();
    for (const { model } of models) {
      if (model.version !== keep && model.status === 'promoted')
        await this.writeAtomic({ ...model, status: 'retired' });
    }
  }

  /** Versions taken by any file name, valid or not, so a refused file's number is never reused. */
  private async usedVersions(): Promise<number[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.flatMap((n) => {
      const m = NAME.exec(n);
      return m ? [Number(m[1])] : [];
    });
  }

  private async writeTemp(model: ModelFile): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, JSON.stringify(model));
    return tmp;
  }

  private async writeAtomic(model: ModelFile): Promise<void> {
    const tmp = await this.writeTemp(model);
    await rename(tmp, this.path(model.version));
  }
}
