import { BadRequestException } from '@nestjs/common';
import { strictValidationPipe } from '../http/validation-pipe';
import { RedriveDto } from './dead-letters.controller';

describe(RedriveDto.name, () => {
  const validate = (body: unknown) => strictValidationPipe().transform(body, { type: 'body', metatype: RedriveDto, data: undefined });

  it('takes ids, or nothing for everything not redriven yet', async () => {
    await expect(validate({ ids: ['0:12', '01a2-event'] })).resolves.toEqual({ ids: ['0:12', '01a2-event'] });
    await expect(validate({})).resolves.toEqual({});
  });

  it('refuses ids: null (it would otherwise mean "everything") with a 400 naming the field', async () => {
    const refused = validate({ ids: null });
    await expect(refused).rejects.toBeInstanceOf(BadRequestException);
    await expect(refused).rejects.toMatchObject({ response: { message: expect.arrayContaining([expect.stringContaining('ids must be an array')]) } });
  });

  it('refuses a body of JSON null or no body at all (Nest validated {} in its place: "everything") with a 400', async () => {
    for (const body of [null, undefined]) {
      const refused = validate(body);
      await expect(refused).rejects.toBeInstanceOf(BadRequestException);
      await expect(refused).rejects.toMatchObject({ response: { message: ['the request body must be a JSON object'] } });
    }
  });
});
