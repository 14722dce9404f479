import type { DatabaseClient, Executor } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import {
  ItemStatus,
  itemMachine,
  RevisionStatus,
  revisionMachine,
  type ItemEvent,
  type RevisionEvent,
} from '../../domain/approval-state.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { createTransitionPersister } from '../../domain/state-transition.ts';
import { isUniqueViolation } from '../../repositories/constraint-errors.ts';
import { itemExemptionRepository } from '../../repositories/virtual-item-exemption.repository.ts';
import {
  virtualItemRepository,
  type VirtualItemChanges,
  type VirtualItemRevisionChanges,
  type VirtualItemRevisionRow,
  type VirtualItemRow,
} from '../../repositories/virtual-item.repository.ts';
import {
  alreadyProcessed,
  approvalPersister,
  persistTransition,
  recordApprovalCreation,
  resolvePaymentConfig,
  validDecision,
  type DecisionInput,
} from '../payment-setup/index.ts';
import { accessSuperapp, recordAudit, seesSuperapp } from '../tenancy/index.ts';
import { accessVirtualSetup } from './virtual-access.ts';

/** SPEC §8.1's field limits (WeChat `upload_item`'s). */
export const itemLimits = { productId: /^[A-Za-z0-9_-]{1,64}$/, nameMax: 1024, remarkMax: 1024, priceMax: 1_000_000_000, itemUrlMax: 1024 };

export interface ItemFields {
  name: string;
  /** Unit price in minor units. */
  price: number;
  currency: string;
  remark: string;
  itemUrl: string | null;
}

export interface ItemRevisionView extends ItemFields {
  approvalNo: string;
  /** 0 pending, 10 approved, 20 rejected, 30 withdrawn (overtaken by a later edit, or the item went offline). */
  status: RevisionStatus;
  exempt: boolean;
  requestedAt: number;
  decidedAt: number | null;
  approvalNote: string;
}

export interface ItemView {
  productId: string;
  /** 0 pending, 10 approved, 20 rejected, 30 offline. */
  status: ItemStatus;
  /** The version that sells while the item is APPROVED; null until first approved. */
  approved: ItemFields | null;
  /** The pending revision (a first submission, an edit of an approved item, a resubmission). */
  pending: ItemRevisionView | null;
  /** What the item's last submission said, and its decision. */
  latest: ItemRevisionView;
  createdAt: number;
  updatedAt: number;
}

const itemTransitions = createTransitionPersister<Executor, VirtualItemRow, ItemStatus, ItemEvent, { actor: Actor }, VirtualItemChanges>(
  itemMachine,
  {
    stateOf: (row) => row.status,
    compareAndSet: (trx, row, from, to, changes) => virtualItemRepository.compareAndSetItem(trx, row.id, from, to, changes),
    // An item's history is its audit trail (the revisions carry the approval history).
    appendHistory: () => Promise.resolve(),
  },
);

export const revisionTransitions = approvalPersister<RevisionStatus, RevisionEvent, VirtualItemRevisionChanges>(
  'virtual_item',
  revisionMachine,
  virtualItemRepository.compareAndSetRevision,
);

const productIdProblem = (productId: string) =>
  new AppError('InvalidParameterValue.InvalidProductId', 'productId: 1 to 64 of [A-Za-z0-9_-]', { field: 'productId', value: productId });

/** Items of a mini program (SPEC §8.1): saved by the mini program, approved by the superapp (or at once under an exemption). */
export class VirtualItemService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  async list(actor: Actor, mnpId: string): Promise<ItemView[]> {
    const { miniProgram } = await accessVirtualSetup(this.db, actor, mnpId, 'virtual_item.view');
    const items = await virtualItemRepository.listItems(this.db, miniProgram.id);
    return Promise.all(items.map((item) => this.viewOf(this.db, item)));
  }

  async get(actor: Actor, mnpId: string, productId: string): Promise<ItemView> {
    const { miniProgram } = await accessVirtualSetup(this.db, actor, mnpId, 'virtual_item.view');
    const item = await virtualItemRepository.findItem(this.db, miniProgram.id, productId);
    if (!item) throw notFound('Item');
    return this.viewOf(this.db, item);
  }

  /** A new item: PENDING, or APPROVED at once (audited `exempt`) while the mini program's exemption is approved. */
  async create(actor: Actor, mnpId: string, input: { productId: string } & Partial<ItemFields>): Promise<ItemView> {
    if (!itemLimits.productId.test(input.productId)) throw productIdProblem(input.productId);
    try {
      return await this.db.transaction().execute(async (trx) => {
        const { miniProgram, team } = await accessVirtualSetup(trx, actor, mnpId, 'virtual_item.view', 'virtual_item.edit');
        const fields = await validFields(trx, team.superapp_id, input);
        if (await virtualItemRepository.findItem(trx, miniProgram.id, input.productId)) throw itemExists(input.productId);
        const now = this.clock.nowMs();
        const id = await virtualItemRepository.insertItem(trx, {
          mnp_id: miniProgram.id,
          superapp_id: team.superapp_id,
          team_id: team.id,
          product_id: input.productId,
          status: ItemStatus.Pending,
          approved_revision_id: null,
          name: null,
          price: null,
          currency: null,
          remark: null,
          item_url: null,
          created_at: now,
          updated_at: now,
        });
        const item = (await virtualItemRepository.findItemById(trx, id))!;
        await recordAudit(trx, this.clock, actor, {
          action: 'virtual_item.create',
          targetType: 'virtual_item',
          targetId: `${miniProgram.id}/${input.productId}`,
          teamId: team.id,
          after: { productId: input.productId, status: ItemStatus.Pending, ...fields },
        });
        await this.submit(trx, actor, item, fields);
        return this.viewOf(trx, (await virtualItemRepository.findItemById(trx, id))!);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw itemExists(input.productId);
      throw error;
    }
  }

  /**
   * Saves a new version: an APPROVED item keeps selling its approved version while the revision waits; a PENDING one
   * has its pending revision replaced; a REJECTED or OFFLINE one goes back to PENDING (as `resubmit`).
   */
  async edit(actor: Actor, mnpId: string, productId: string, changes: Partial<ItemFields>): Promise<ItemView> {
    return this.db.transaction().execute(async (trx) => {
      const { miniProgram, team } = await accessVirtualSetup(trx, actor, mnpId, 'virtual_item.view', 'virtual_item.edit');
      const item = await virtualItemRepository.findItem(trx, miniProgram.id, productId);
      if (!item) throw notFound('Item');
      const latest = (await virtualItemRepository.findLatestRevision(trx, item.id))!;
      const base = item.status === ItemStatus.Approved ? sellingFields(item)! : fieldsOf(latest);
      const fields = await validFields(trx, team.superapp_id, { ...base, ...changes });
      let current = item;
      if (item.status === ItemStatus.Rejected || item.status === ItemStatus.Offline) {
        current = await this.moveItem(trx, actor, item, 'resubmit', {});
      }
      await this.submit(trx, actor, current, fields);
      return this.viewOf(trx, (await virtualItemRepository.findItemById(trx, item.id))!);
    });
  }

  /** REJECTED | OFFLINE → PENDING with the last submitted version (SPEC §8.1). */
  async resubmit(actor: Actor, mnpId: string, productId: string): Promise<ItemView> {
    return this.db.transaction().execute(async (trx) => {
      const { miniProgram, team } = await accessVirtualSetup(trx, actor, mnpId, 'virtual_item.view', 'virtual_item.edit');
      const item = await virtualItemRepository.findItem(trx, miniProgram.id, productId);
      if (!item) throw notFound('Item');
      if (!itemMachine.can(item.status, 'resubmit'))
        throw new AppError('FailedOperation', 'Only a rejected or offline item can be resubmitted', { status: item.status });
      const latest = (await virtualItemRepository.findLatestRevision(trx, item.id))!;
      const base = item.status === ItemStatus.Offline && item.approved_revision_id !== null ? sellingFields(item)! : fieldsOf(latest);
      const fields = await validFields(trx, team.superapp_id, base);
      const pending = await this.moveItem(trx, actor, item, 'resubmit', {});
      await this.submit(trx, actor, pending, fields);
      return this.viewOf(trx, (await virtualItemRepository.findItemById(trx, item.id))!);
    });
  }

  /** APPROVED → OFFLINE: it stops selling; a pending revision is withdrawn with it. */
  async offline(actor: Actor, mnpId: string, productId: string): Promise<ItemView> {
    return this.db.transaction().execute(async (trx) => {
      const { miniProgram } = await accessVirtualSetup(trx, actor, mnpId, 'virtual_item.view', 'virtual_item.edit');
      const item = await virtualItemRepository.findItem(trx, miniProgram.id, productId);
      if (!item) throw notFound('Item');
      if (!itemMachine.can(item.status, 'offline'))
        throw new AppError('FailedOperation', 'Only an approved item can be taken offline', { status: item.status });
      await this.withdrawPending(trx, actor, item);
      await this.moveItem(trx, actor, item, 'offline', {});
      return this.viewOf(trx, (await virtualItemRepository.findItemById(trx, item.id))!);
    });
  }

  /** Whether `approvalNo` names an item revision (the approvals dispatch asks before deciding). */
  async owns(approvalNo: string): Promise<boolean> {
    return (await virtualItemRepository.findRevisionByApprovalNo(this.db, approvalNo)) !== undefined;
  }

  /** The superapp decides a pending revision: approval makes it the selling version; a rejection leaves an approved version selling. */
  async decide(actor: Actor, input: DecisionInput): Promise<{ id: number }> {
    // Reach first, as the standard decide does: a superapp out of reach is not found whatever the decision says.
    await accessSuperapp(this.db, actor, input.applicationId, 'approval.decide');
    const decision = validDecision(input);
    return this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, input.applicationId, 'approval.decide');
      const revision = await virtualItemRepository.findRevisionByApprovalNo(trx, input.approvalNo);
      if (!revision || (revision.superapp_id !== superapp.id && !(await seesSuperapp(trx, actor, revision.superapp_id))))
        throw new AppError('InvalidParameterValue.InvalidApprovalNo', 'No request has this ApprovalNo', { field: 'approvalNo' });
      if (revision.superapp_id !== superapp.id)
        throw new AppError('FailedOperation.ApprovalNotBelongToApplication', 'This request belongs to another superapp');
      if (revision.status !== RevisionStatus.Pending) throw alreadyProcessed();
      const item = (await virtualItemRepository.findItemById(trx, revision.item_id))!;
      await persistTransition(trx, this.clock, actor, {
        persister: revisionTransitions,
        record: { id: revision.id, approval_no: revision.approval_no, status: revision.status },
        event: decision.approve ? 'approve' : 'reject',
        changes: { decided_by: actor.userId, decided_at: this.clock.nowMs(), approval_note: decision.note },
        note: decision.note,
        auditTeamId: superapp.team_id,
        auditDetails: { mnpId: revision.mnp_id, productId: revision.product_id },
      });
      if (decision.approve) await this.sell(trx, actor, item, revision, false);
      else if (item.status === ItemStatus.Pending) await this.moveItem(trx, actor, item, 'reject', { updated_at: this.clock.nowMs() });
      return { id: item.id };
    });
  }

  /** A new pending revision of `item`, the previous pending one withdrawn; approved at once under an exemption. */
  private async submit(trx: Executor, actor: Actor, item: VirtualItemRow, fields: ItemFields): Promise<void> {
    await this.withdrawPending(trx, actor, item);
    const now = this.clock.nowMs();
    const approvalNo = newId('apr', now);
    const exempt = await itemExemptionRepository.isExempt(trx, item.mnp_id);
    const revision: VirtualItemRevisionRow = {
      id: 0,
      approval_no: approvalNo,
      item_id: item.id,
      mnp_id: item.mnp_id,
      superapp_id: item.superapp_id,
      team_id: item.team_id,
      product_id: item.product_id,
      name: fields.name,
      price: fields.price,
      currency: fields.currency,
      remark: fields.remark,
      item_url: fields.itemUrl,
      status: exempt ? RevisionStatus.Approved : RevisionStatus.Pending,
      exempt: exempt ? 1 : 0,
      requested_by: actor.userId,
      requested_at: now,
      decided_by: exempt ? actor.userId : null,
      decided_at: exempt ? now : null,
      approval_note: exempt ? 'exempt' : '',
    };
    const { id: _unset, ...insertable } = revision;
    revision.id = await virtualItemRepository.insertRevision(trx, insertable);
    await recordApprovalCreation(trx, this.clock, actor, revisionTransitions, {
      record: { id: revision.id, approval_no: approvalNo, status: revision.status },
      event: exempt ? 'exempt' : 'submit',
      note: exempt ? 'exempt' : '',
    });
    await recordAudit(trx, this.clock, actor, {
      action: exempt ? 'virtual_item.exempt' : 'virtual_item.submit',
      targetType: 'virtual_item',
      targetId: `${item.mnp_id}/${item.product_id}`,
      teamId: item.team_id,
      before: { status: item.status },
      after: { approvalNo, revisionStatus: revision.status, exempt, ...fields },
    });
    if (exempt) await this.sell(trx, actor, item, revision, true);
  }

  /** The revision becomes the version that sells; a PENDING item becomes APPROVED. */
  private async sell(trx: Executor, actor: Actor, item: VirtualItemRow, revision: VirtualItemRevisionRow, exempt: boolean) {
    const selling: VirtualItemChanges = {
      approved_revision_id: revision.id,
      name: revision.name,
      price: revision.price,
      currency: revision.currency,
      remark: revision.remark,
      item_url: revision.item_url,
      updated_at: this.clock.nowMs(),
    };
    if (item.status === ItemStatus.Pending) await this.moveItem(trx, actor, item, 'approve', selling, exempt);
    else await virtualItemRepository.setSellingVersion(trx, item.id, selling);
  }

  private async withdrawPending(trx: Executor, actor: Actor, item: VirtualItemRow): Promise<void> {
    const pending = await virtualItemRepository.findPendingRevision(trx, item.id);
    if (!pending) return;
    await persistTransition(trx, this.clock, actor, {
      persister: revisionTransitions,
      record: { id: pending.id, approval_no: pending.approval_no, status: pending.status },
      event: 'withdraw',
      changes: {},
      auditTeamId: item.team_id,
      auditDetails: { mnpId: item.mnp_id, productId: item.product_id },
    });
  }

  /** An item's state change: compare-and-set, audited in the same transaction; someone else's move first is refused. */
  private async moveItem(
    trx: Executor,
    actor: Actor,
    item: VirtualItemRow,
    event: ItemEvent,
    changes: VirtualItemChanges,
    exempt = false,
  ): Promise<VirtualItemRow> {
    const to = await itemTransitions.transition(trx, item, event, {
      changes: { updated_at: this.clock.nowMs(), ...changes },
      detail: { actor },
    });
    if (to === undefined) throw new AppError('FailedOperation', 'The item changed meanwhile; load it again');
    await recordAudit(trx, this.clock, actor, {
      action: `virtual_item.${event}`,
      targetType: 'virtual_item',
      targetId: `${item.mnp_id}/${item.product_id}`,
      teamId: item.team_id,
      before: { status: item.status },
      after: { status: to, ...(exempt ? { exempt: true } : {}) },
    });
    return { ...item, ...changes, status: to } as VirtualItemRow;
  }

  private async viewOf(db: Executor, item: VirtualItemRow): Promise<ItemView> {
    const pending = await virtualItemRepository.findPendingRevision(db, item.id);
    const latest = (await virtualItemRepository.findLatestRevision(db, item.id))!;
    return {
      productId: item.product_id,
      status: item.status,
      approved: sellingFields(item),
      pending: pending ? revisionView(pending) : null,
      latest: revisionView(latest),
      createdAt: Number(item.created_at),
      updatedAt: Number(item.updated_at),
    };
  }
}

const itemExists = (productId: string) =>
  new AppError('FailedOperation.VirtualItemExists', `The mini program already has an item ${productId}`, { field: 'productId' });

/** The version that sells; null until the item was first approved. */
export function sellingFields(item: VirtualItemRow): ItemFields | null {
  if (item.approved_revision_id === null || item.name === null || item.price === null || item.currency === null) return null;
  return { name: item.name, price: Number(item.price), currency: item.currency, remark: item.remark ?? '', itemUrl: item.item_url };
}

const fieldsOf = (revision: VirtualItemRevisionRow): ItemFields => ({
  name: revision.name,
  price: revision.price,
  currency: revision.currency,
  remark: revision.remark,
  itemUrl: revision.item_url,
});

const revisionView = (revision: VirtualItemRevisionRow): ItemRevisionView => ({
  ...fieldsOf(revision),
  approvalNo: revision.approval_no,
  status: revision.status,
  exempt: revision.exempt === 1,
  requestedAt: Number(revision.requested_at),
  decidedAt: revision.decided_at === null ? null : Number(revision.decided_at),
  approvalNote: revision.approval_note,
});

const invalidField = (field: string, issue: string) => new AppError('InvalidParameterValue', `${field}: ${issue}`, { field });

/** SPEC §8.1's limits: Name 1–1024, Price 1..1,000,000,000 minor units, a superapp currency, Remark ≤ 1024, ItemUrl jpg/png. */
async function validFields(db: Executor, superappId: string, input: Partial<ItemFields>): Promise<ItemFields> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length < 1 || name.length > itemLimits.nameMax) throw invalidField('name', `1 to ${itemLimits.nameMax} characters`);
  const price = input.price;
  if (typeof price !== 'number' || !Number.isSafeInteger(price) || price <= 0 || price > itemLimits.priceMax) {
    throw new AppError('InvalidParameterValue.InvalidItemPrice', `price: an integer from 1 to ${itemLimits.priceMax} minor units`, {
      field: 'price',
    });
  }
  const { currencies } = await resolvePaymentConfig(db, superappId);
  const currency = input.currency ?? currencies[0];
  if (!currency || !(currencies as string[]).includes(currency)) throw invalidField('currency', `one of ${currencies.join(', ')}`);
  const remark = input.remark ?? '';
  if (remark.length > itemLimits.remarkMax) throw invalidField('remark', `at most ${itemLimits.remarkMax} characters`);
  const itemUrl = input.itemUrl === undefined || input.itemUrl === null || input.itemUrl === '' ? null : input.itemUrl;
  if (itemUrl !== null && !isImageUrl(itemUrl)) throw invalidField('itemUrl', 'an http(s) URL of a .jpg, .jpeg or .png image');
  return { name, price, currency, remark, itemUrl };
}

function isImageUrl(value: string): boolean {
  if (value.length > itemLimits.itemUrlMax) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && /\.(jpe?g|png)$/i.test(url.pathname);
}
