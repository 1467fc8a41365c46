/**
 * Business checks of a document against the company's master data, answered with 422: the request is well
 * formed but the ERP refuses it (blocked supplier, closed project, unknown GL account...).
 */
import type { CostCenter, Dimensions, GlAccount, Project, Supplier } from '../model/types';
import type { CompanyState } from './company-state';
import type { FieldErrors } from './validate';

export function checkSupplier(company: CompanyState, supplierId: string, path: string, errors: FieldErrors): void {
  const supplier = company.records('suppliers').get(supplierId) as Supplier | undefined;
  if (!supplier) {
    errors.add(path, `supplier "${supplierId}" does not exist in ${company.company.id}`, 'SUPPLIER_UNKNOWN');
  } else if (supplier.status === 'blocked') {
    errors.add(
      path,
      `supplier "${supplierId}" (${supplier.name}) is blocked; choose another supplier or ask purchasing to unblock it`,
      'SUPPLIER_BLOCKED',
    );
  }
}

export function checkEmployee(company: CompanyState, employeeId: string, path: string, errors: FieldErrors): void {
  if (!company.records('employees').has(employeeId)) {
    errors.add(path, `employee "${employeeId}" does not exist in ${company.company.id}`, 'EMPLOYEE_UNKNOWN');
  }
}

export function checkTaxCode(company: CompanyState, taxCode: string, path: string, errors: FieldErrors): void {
  if (!company.records('taxCodes').has(taxCode)) {
    errors.add(path, `tax code "${taxCode}" does not exist in ${company.company.id}`, 'TAX_CODE_UNKNOWN');
  }
}

/** Every named dimension must exist and be open for postings; `company`, if named, must be this company. */
export function checkDimensions(
  company: CompanyState,
  dimensions: Dimensions,
  path: string,
  errors: FieldErrors,
): void {
  const id = company.company.id;
  if (dimensions.company !== undefined && dimensions.company !== id) {
    errors.add(`${path}/company`, `is "${dimensions.company}" but the document is booked in ${id}`, 'COMPANY_MISMATCH');
  }
  if (dimensions.costCenter !== undefined) {
    const costCenter = company.records('costCenters').get(dimensions.costCenter) as CostCenter | undefined;
    if (!costCenter) {
      errors.add(
        `${path}/costCenter`,
        `cost center "${dimensions.costCenter}" does not exist in ${id}`,
        'DIMENSION_UNKNOWN',
      );
    } else if (!costCenter.open) {
      errors.add(
        `${path}/costCenter`,
        `cost center "${dimensions.costCenter}" is closed for postings`,
        'DIMENSION_CLOSED',
      );
    }
  }
  if (dimensions.project !== undefined) {
    const project = company.records('projects').get(dimensions.project) as Project | undefined;
    if (!project) {
      errors.add(`${path}/project`, `project "${dimensions.project}" does not exist in ${id}`, 'DIMENSION_UNKNOWN');
    } else if (project.status !== 'open') {
      errors.add(
        `${path}/project`,
        `project "${dimensions.project}" is ${project.status}; charge an open project`,
        'PROJECT_CLOSED',
      );
    }
  }
  if (dimensions.glAccount !== undefined) {
    const account = company.records('glAccounts').get(dimensions.glAccount) as GlAccount | undefined;
    if (!account) {
      errors.add(
        `${path}/glAccount`,
        `GL account "${dimensions.glAccount}" does not exist in ${id}`,
        'DIMENSION_UNKNOWN',
      );
    } else if (!account.open) {
      errors.add(
        `${path}/glAccount`,
        `GL account "${dimensions.glAccount}" is blocked for postings`,
        'DIMENSION_CLOSED',
      );
    }
  }
}

export function checkDocumentCurrency(
  company: CompanyState,
  currency: string,
  path: string,
  errors: FieldErrors,
): void {
  if (currency !== company.company.currency) {
    errors.add(
      path,
      `is ${currency} but ${company.company.id} books in ${company.company.currency}; convert the document first`,
      'CURRENCY_MISMATCH',
    );
  }
}
