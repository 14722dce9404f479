import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { accessLevel, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, forbidden, notFound } from '../../domain/errors.ts';
import { merchantBindingRepository } from '../../repositories/merchant-binding.repository.ts';
import { merchantRepository, type MerchantRow } from '../../repositories/merchant.repository.ts';
import { isUniqueViolation } from '../../repositories/constraint-errors.ts';
import { accessMiniProgramTeam, accessSuperapp, recordAudit } from '../tenancy/index.ts';

export interface MerchantView {
  /** The list entry's own id (for editing); `merchantId` is the merchant number. */
  id: number;
  applicationId: string;
  merchantId: string;
  merchantName: string;
  /** The team whose effective binding this merchant is, if any. */
  boundTeamId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface MerchantInput {
  merchantId: string;
  merchantName: string;
}

const merchantIdPattern = /^[A-Za-z0-9_-]{1,32}$/;

const toView = (row: MerchantRow & { bound_team_id?: string | null }): MerchantView => ({
  id: Number(row.id),
  applicationId: row.superapp_id,
  merchantId: row.merchant_id,
  merchantName: row.merchant_name,
  boundTeamId: row.bound_team_id ?? null,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** The superapp's merchant list (SPEC §5 Payment configuration): search, add, edit. */
export class MerchantService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  async search(
    actor: Actor,
    applicationId: string,
    query: { search?: string | undefined; offset: number; limit: number },
  ): Promise<{ total: number; items: MerchantView[] }> {
    const { superapp, scope } = await accessSuperapp(this.db, actor, applicationId);
    if (!accessLevel(actor, 'merchant.view', scope)) throw forbidden();
    const search = query.search?.trim();
    const { total, items } = await merchantRepository.search(this.db, superapp.id, {
      search: search || undefined,
      offset: query.offset,
      limit: query.limit,
    });
    return { total, items: items.map(toView) };
  }

  async create(actor: Actor, applicationId: string, input: MerchantInput): Promise<MerchantView> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const { superapp } = await accessSuperapp(trx, actor, applicationId, 'merchant.manage');
        const merchant = this.valid(input);
        await this.requireUnique(trx, superapp.id, merchant);
        const now = this.clock.nowMs();
        const row = {
          superapp_id: superapp.id,
          merchant_id: merchant.merchantId,
          merchant_name: merchant.merchantName,
          created_at: now,
          updated_at: now,
        };
        const id = await merchantRepository.insert(trx, row);
        await recordAudit(trx, this.clock, actor, {
          action: 'merchant.create',
          targetType: 'merchant',
          targetId: String(id),
          teamId: superapp.team_id,
          after: merchant,
        });
        return toView({ ...row, id });
      });
    } catch (error) {
      throw isUniqueViolation(error) ? new AppError('ResourceInUse', 'A merchant with this ID or name was added meanwhile') : error;
    }
  }

  /** Edits a list entry; refused while a pending request or an effective binding names the merchant. */
  async update(actor: Actor, applicationId: string, id: number, changes: Partial<MerchantInput>): Promise<MerchantView> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const { superapp } = await accessSuperapp(trx, actor, applicationId, 'merchant.manage');
        const row = await merchantRepository.findById(trx, id);
        if (!row || row.superapp_id !== superapp.id) throw notFound('Merchant');
        const merchant = this.valid({
          merchantId: changes.merchantId ?? row.merchant_id,
          merchantName: changes.merchantName ?? row.merchant_name,
        });
        if (merchant.merchantId === row.merchant_id && merchant.merchantName === row.merchant_name) return toView(row);
        if (await merchantBindingRepository.hasOpenForMerchant(trx, id)) {
          throw new AppError(
            'ResourceInUse',
            'This merchant is bound to a team or has a pending binding request; unbind or decide it first',
          );
        }
        await this.requireUnique(trx, superapp.id, merchant, id);
        const now = this.clock.nowMs();
        await merchantRepository.update(trx, id, {
          merchant_id: merchant.merchantId,
          merchant_name: merchant.merchantName,
          updated_at: now,
        });
        await recordAudit(trx, this.clock, actor, {
          action: 'merchant.update',
          targetType: 'merchant',
          targetId: String(id),
          teamId: superapp.team_id,
          before: { merchantId: row.merchant_id, merchantName: row.merchant_name },
          after: merchant,
        });
        return toView({ ...row, merchant_id: merchant.merchantId, merchant_name: merchant.merchantName, updated_at: now });
      });
    } catch (error) {
      throw isUniqueViolation(error) ? new AppError('ResourceInUse', 'A merchant with this ID or name was added meanwhile') : error;
    }
  }

  /** The merchants a mini program team may pick when requesting a binding: its superapp's, not bound elsewhere. */
  async listPickable(actor: Actor, teamId: string): Promise<{ merchantId: string; merchantName: string }[]> {
    const { team } = await accessMiniProgramTeam(this.db, actor, teamId, 'merchant_binding.view', 'merchant_binding.manage');
    const rows = await merchantRepository.listFreeFor(this.db, team.superapp_id, team.id);
    return rows.map((row) => ({ merchantId: row.merchant_id, merchantName: row.merchant_name }));
  }

  private valid(input: MerchantInput): MerchantInput {
    const merchantId = input.merchantId.trim();
    const merchantName = input.merchantName.trim();
    if (!merchantIdPattern.test(merchantId)) {
      throw new AppError('InvalidParameterValue', 'merchantId: 1 to 32 letters, digits, _ or -', { field: 'merchantId' });
    }
    if (merchantName.length === 0 || merchantName.length > 100) {
      throw new AppError('InvalidParameterValue', 'merchantName: 1 to 100 characters', { field: 'merchantName' });
    }
    return { merchantId, merchantName };
  }

  private async requireUnique(db: Executor, superappId: string, merchant: MerchantInput, exceptId?: number) {
    const sameId = await merchantRepository.findByMerchantId(db, superappId, merchant.merchantId);
    if (sameId && Number(sameId.id) !== exceptId) {
      throw new AppError('ResourceInUse', `The merchant ID ${merchant.merchantId} is already in the list`, { field: 'merchantId' });
    }
    const sameName = await merchantRepository.findByName(db, superappId, merchant.merchantName);
    if (sameName && Number(sameName.id) !== exceptId) {
      throw new AppError('ResourceInUse', `The merchant name "${merchant.merchantName}" is already in the list`, { field: 'merchantName' });
    }
  }
}
